"""VM exits by guest and exit reason (Linux: kvm:kvm_exit and kvm:kvm_userspace_exit)."""

from dtscope.dscript.api import aggregation, arg0, arg1, count, execname, pid, probe, zonename

META = {
    "name": "kvm-exits",
    "area": "kvm",
    "description": "VM exits by guest (zone, VMM process) and VMX exit reason",
    "platforms": ["linux"],
}

exits = aggregation(units="count", labels=["zone", "pid", "process", "exit reason"],
                    help="VM exits handled by the kernel (arg1: the VMX/SVM exit code)")
# Linux also reports the exits the kernel hands to the VMM (QEMU, Firecracker...), with
# the KVM_EXIT_* reason: 2 IO, 5 HLT, 6 MMIO... Inside a nested VM this is often the
# only exit tracepoint that fires.
userspace_exits = aggregation(units="count", labels=["zone", "pid", "process", "KVM_EXIT reason"],
                              help="exits handed to the VMM process")


@probe("sdt:kvm::kvm-vexit")
def vm_exit():
    exits[zonename, pid, execname, arg1] = count()


@probe("sdt:kvm::kvm-userspace-exit")
def userspace_exit():
    userspace_exits[zonename, pid, execname, arg0] = count()
