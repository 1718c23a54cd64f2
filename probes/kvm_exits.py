"""VM exits by guest and exit reason (SmartOS KVM: sdt:kvm::kvm-vexit)."""

from dtscope.dscript.api import aggregation, arg1, count, execname, pid, probe, zonename

META = {
    "name": "kvm-exits",
    "area": "kvm",
    "description": "VM exits by guest (zone, VMM process) and VMX exit reason",
    "platforms": ["illumos"],
}

exits = aggregation(units="count", labels=["zone", "pid", "process", "exit reason"],
                    help="VM exits (arg1: the VMX basic exit reason)")


@probe("sdt:kvm::kvm-vexit")
def vm_exit():
    exits[zonename, pid, execname, arg1] = count()
