"""Time threads spend off CPU (blocked or waiting), by process."""

from dtscope.dscript.api import aggregation, execname, probe, self, sum, timestamp

off_cpu = aggregation(units="ns", labels=["process"])


@probe("sched:::off-cpu")
def leaving_cpu():
    self.ts = timestamp


@probe("sched:::on-cpu", when=lambda: self.ts != 0)
def back_on_cpu():
    off_cpu[execname] = sum(timestamp - self.ts)
    del self.ts
