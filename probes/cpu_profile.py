"""On-CPU stacks, kernel and user, sampled at a fixed rate: the input of a flame graph."""

from dtscope.dscript.api import aggregation, count, execname, param, probe, stack, ustack

META = {
    "name": "cpu-profile",
    "area": "cpu",
    "description": "on-CPU kernel and user stacks by process, sampled (for flame graphs)",
    "platforms": ["illumos", "linux"],
}

hz = param(int, default=99, help="samples per second on each CPU")

stacks = aggregation(units="count", labels=["process", "kernel stack", "user stack"], help="samples")


@probe("profile-{hz}")
def sample():
    stacks[execname, stack(), ustack()] = count()
