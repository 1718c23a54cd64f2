"""System call rate and latency by zone (on Linux: by cgroup)."""

from dtscope.dscript.api import (
    aggregation,
    count,
    probe,
    probefunc,
    quantize,
    self,
    timestamp,
    zonename,
)

META = {
    "name": "zone-syscalls",
    "area": "zones",
    "description": "system call counts by zone and syscall, latency by zone",
    "platforms": ["illumos", "linux"],
}

calls = aggregation(units="count", labels=["zone", "syscall"], help="system calls made")
latency = aggregation(units="ns", labels=["zone"], help="time from syscall entry to return")


@probe("syscall:::entry")
def enter():
    calls[zonename, probefunc] = count()
    self.ts = timestamp


@probe("syscall:::return", when=lambda: self.ts != 0)
def leave():
    latency[zonename] = quantize(timestamp - self.ts)
    del self.ts
