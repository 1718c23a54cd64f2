"""Failed system calls by process, call and errno."""

from dtscope.dscript.api import aggregation, count, errno, execname, probe, probefunc

failures = aggregation(units="count", labels=["process", "syscall", "errno"])


@probe("syscall:::return", when=lambda: errno != 0)
def failed():
    failures[execname, probefunc, errno] = count()
