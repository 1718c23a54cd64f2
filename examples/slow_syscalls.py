"""Print system calls slower than a threshold."""

from dtscope.dscript.api import (
    Duration,
    execname,
    options,
    param,
    pid,
    printf,
    probe,
    probefunc,
    self,
    this,
    timestamp,
)

options(quiet=True)

threshold = param(Duration, default="10ms", help="report calls slower than this")


@probe("syscall:::entry")
def enter():
    self.start = timestamp


@probe("syscall:::return", when=lambda: self.start != 0)
def leave():
    this.elapsed = timestamp - self.start
    if this.elapsed > threshold:
        printf("%s[%d] %s took %d us\n", execname, pid, probefunc, this.elapsed / 1000)
    del self.start
