"""On-CPU kernel stacks, sampled at a fixed rate (for flame graphs of the kernel)."""

from dtscope.dscript.api import aggregation, count, execname, param, probe, stack

META = {
    "name": "cpu-profile-kernel",
    "area": "cpu",
    "description": "on-CPU kernel stacks by process, sampled (for flame graphs)",
    "platforms": ["illumos", "linux"],
}

hz = param(int, default=99, help="samples per second on each CPU")

stacks = aggregation(units="count", labels=["process", "kernel stack"], help="samples")


@probe("profile-{hz}")
def sample():
    stacks[execname, stack()] = count()
