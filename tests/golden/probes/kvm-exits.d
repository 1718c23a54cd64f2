sdt:kvm::kvm-vexit
{
	@exits[zonename, pid, execname, arg1] = count();
}
