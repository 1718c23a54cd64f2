"""System call latency by zone and system call."""

from dtscope.dscript.api import aggregation, probe, probefunc, quantize, self, timestamp, zonename

META = {"area": "zones", "platforms": ["illumos", "linux"]}

latency = aggregation(units="ns", labels=["zone", "syscall"])


@probe("syscall:::entry")
def enter():
    self.ts = timestamp


@probe("syscall:::return", when=lambda: self.ts != 0)
def leave():
    latency[zonename, probefunc] = quantize(timestamp - self.ts)
    del self.ts
