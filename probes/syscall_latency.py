"""System call latency by process and system call."""

from dtscope.dscript.api import aggregation, execname, probe, probefunc, quantize, self, timestamp

META = {
    "name": "syscall-latency",
    "area": "syscalls",
    "description": "system call latency distributions by process and syscall",
    "platforms": ["illumos", "linux"],
}

latency = aggregation(units="ns", labels=["process", "syscall"], help="time from entry to return")


@probe("syscall:::entry")
def enter():
    self.ts = timestamp


@probe("syscall:::return", when=lambda: self.ts != 0)
def leave():
    latency[execname, probefunc] = quantize(timestamp - self.ts)
    del self.ts
