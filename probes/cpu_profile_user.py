"""On-CPU user stacks, sampled at a fixed rate (for flame graphs of applications)."""

from dtscope.dscript.api import aggregation, count, execname, param, probe, ustack

META = {
    "name": "cpu-profile-user",
    "area": "cpu",
    "description": "on-CPU user stacks by process, sampled (for flame graphs)",
    "platforms": ["illumos", "linux"],
}

hz = param(int, default=99, help="samples per second on each CPU")

stacks = aggregation(units="count", labels=["process", "user stack"], help="samples")


@probe("profile-{hz}")
def sample():
    stacks[execname, ustack()] = count()
