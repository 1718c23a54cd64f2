"""Time the host spends handling a VM exit, from the exit to the next guest entry."""

from dtscope.dscript.api import aggregation, arg1, pid, probe, quantize, self, timestamp, zonename

META = {
    "name": "kvm-exit-latency",
    "area": "kvm",
    "description": "VM exit handling time (exit to next guest entry) by guest and exit reason",
    "platforms": ["illumos"],
}

latency = aggregation(units="ns", labels=["zone", "pid", "exit reason"],
                      help="from the VM exit to the vCPU's next guest entry")


@probe("sdt:kvm::kvm-vexit")
def vm_exit():
    self.exit_ts = timestamp
    self.reason = arg1


@probe("sdt:kvm::kvm-guest-entry", when=lambda: self.exit_ts != 0)
def guest_entry():
    latency[zonename, pid, self.reason] = quantize(timestamp - self.exit_ts)
    del self.exit_ts
    del self.reason
