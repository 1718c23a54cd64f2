"""Time threads spend off CPU (blocked, sleeping or waiting for a CPU), by process."""

from dtscope.dscript.api import aggregation, execname, pid, probe, self, sum, timestamp

META = {
    "name": "off-cpu",
    "area": "cpu",
    "description": "off-CPU time (blocked, sleeping, runnable) by process",
    "platforms": ["illumos", "linux"],
}

off_cpu = aggregation(units="ns", labels=["pid", "process"], help="time off CPU")


@probe("sched:::off-cpu")
def leaving():
    self.ts = timestamp
    # Remembered here: on Linux the process id is not known where the thread comes back.
    self.pid = pid


@probe("sched:::on-cpu", when=lambda: self.ts != 0)
def back():
    off_cpu[self.pid, execname] = sum(timestamp - self.ts)
    del self.ts
    del self.pid
