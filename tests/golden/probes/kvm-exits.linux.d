sdt:kvm::kvm-vexit
{
	@exits[zonename, pid, execname, arg1] = count();
}

sdt:kvm::kvm-userspace-exit
{
	@userspace_exits[zonename, pid, execname, arg0] = count();
}
