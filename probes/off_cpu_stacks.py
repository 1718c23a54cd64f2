"""Time threads spend off CPU, by the kernel and user stacks where they blocked."""

from dtscope.dscript.api import aggregation, execname, probe, self, stack, sum, timestamp, ustack

META = {
    "name": "off-cpu-stacks",
    "area": "cpu",
    "description": "off-CPU time by process and blocking stacks (for off-CPU flame graphs)",
    "platforms": ["illumos"],
}

# Linux is not served: bpftrace cannot take a thread's stacks when it comes back on CPU
# (sched_switch runs in the thread leaving), and D cannot keep stacks in variables.
off_cpu = aggregation(units="ns", labels=["process", "kernel stack", "user stack"], help="time off CPU")


@probe("sched:::off-cpu")
def leaving():
    self.ts = timestamp


@probe("sched:::on-cpu", when=lambda: self.ts != 0)
def back():
    off_cpu[execname, stack(), ustack()] = sum(timestamp - self.ts)
    del self.ts
