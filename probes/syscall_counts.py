"""System calls by process and system call."""

from dtscope.dscript.api import aggregation, count, execname, pid, probe, probefunc

META = {
    "name": "syscall-counts",
    "area": "syscalls",
    "description": "system call counts by process and syscall",
    "platforms": ["illumos", "linux"],
}

calls = aggregation(units="count", labels=["process", "pid", "syscall"], help="system calls made")


@probe("syscall:::entry")
def enter():
    calls[execname, pid, probefunc] = count()
