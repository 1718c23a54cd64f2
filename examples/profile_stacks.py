"""Sample kernel and user stacks on every CPU, for flame graphs."""

from dtscope.dscript.api import (
    aggregation,
    arg0,
    arg1,
    count,
    execname,
    param,
    probe,
    stack,
    ustack,
)

hz = param(int, default=997, help="samples per second on each CPU")

kernel_stacks = aggregation(units="count", labels=["stack"])
user_stacks = aggregation(units="count", labels=["process", "stack"])


@probe("profile-{hz}", when=lambda: arg0 != 0)
def in_kernel():
    """arg0 is the kernel program counter: non-zero when the sample hit the kernel."""
    kernel_stacks[stack()] = count()


@probe("profile-{hz}", when=lambda: arg1 != 0)
def in_user():
    user_stacks[execname, ustack()] = count()
