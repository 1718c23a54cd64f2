sdt:kvm::kvm-pio
{
	@pio[zonename, pid, execname, arg1, arg0 == 1 ? "out" : "in"] = count();
}

sdt:kvm::kvm-mmio-write
{
	@mmio[zonename, pid, execname, arg1, "write"] = count();
}

sdt:kvm::kvm-mmio-read
{
	@mmio[zonename, pid, execname, arg1, "read"] = count();
}
