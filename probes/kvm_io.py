"""Port and MMIO I/O of KVM guests, by guest (zone and VMM process) and port or address."""

from dtscope.dscript.api import aggregation, arg0, arg1, count, execname, pid, probe, zonename

META = {
    "name": "kvm-io",
    "area": "kvm",
    "description": "KVM guests' port I/O and MMIO accesses by guest and port/address",
    "platforms": ["illumos", "linux"],
}

pio = aggregation(units="count", labels=["zone", "pid", "process", "port", "direction"],
                  help="port I/O instructions the host emulated")
mmio = aggregation(units="count", labels=["zone", "pid", "process", "address", "direction"],
                   help="MMIO accesses the host emulated")


@probe("sdt:kvm::kvm-pio")
def port_io():
    # arg0 is 1 for an out (the guest writes), arg1 the port.
    pio[zonename, pid, execname, arg1, "out" if arg0 == 1 else "in"] = count()


@probe("sdt:kvm::kvm-mmio-write")
def mmio_write():
    mmio[zonename, pid, execname, arg1, "write"] = count()


@probe("sdt:kvm::kvm-mmio-read")
def mmio_read():
    mmio[zonename, pid, execname, arg1, "read"] = count()
