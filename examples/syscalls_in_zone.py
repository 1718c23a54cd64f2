"""Count the system calls made in one zone (a cgroup on Linux), by process and call."""

from dtscope.dscript.api import aggregation, count, execname, param, probe, probefunc, zonename

zone = param(str, default="global", help="zone name (on Linux, the cgroup path)")

calls = aggregation(units="count", labels=["process", "syscall"])


@probe("syscall:::entry", when=lambda: zonename == zone)
def count_call():
    calls[execname, probefunc] = count()
