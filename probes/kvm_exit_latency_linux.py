"""Time the host spends handling VM exits: in the kernel, and in the VMM for user-space exits."""

from dtscope.dscript.api import (
    aggregation,
    arg0,
    arg1,
    execname,
    pid,
    probe,
    quantize,
    self,
    timestamp,
    zonename,
)

META = {
    "name": "kvm-exit-latency",
    "area": "kvm",
    "description": "VM exit handling time (exit to next guest entry) by guest and exit reason",
    "platforms": ["linux"],
}

latency = aggregation(units="ns", labels=["zone", "pid", "exit reason"],
                      help="from the VM exit to the vCPU's next guest entry")
# An exit handed to the VMM ends when the vCPU thread calls ioctl(KVM_RUN) again.
userspace_latency = aggregation(units="ns", labels=["zone", "pid", "process", "KVM_EXIT reason"],
                                help="from the exit to user space to the VMM's next ioctl")


@probe("sdt:kvm::kvm-vexit")
def vm_exit():
    self.exit_ts = timestamp
    self.reason = arg1


@probe("sdt:kvm::kvm-guest-entry", when=lambda: self.exit_ts != 0)
def guest_entry():
    latency[zonename, pid, self.reason] = quantize(timestamp - self.exit_ts)
    del self.exit_ts
    del self.reason


@probe("sdt:kvm::kvm-userspace-exit")
def userspace_exit():
    self.user_ts = timestamp
    self.user_reason = arg0


@probe("syscall::ioctl:entry", when=lambda: self.user_ts != 0)
def back_to_kvm_run():
    userspace_latency[zonename, pid, execname, self.user_reason] = quantize(timestamp - self.user_ts)
    del self.user_ts
    del self.user_reason
