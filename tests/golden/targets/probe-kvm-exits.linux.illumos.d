sdt:kvm::kvm-vexit
{
	@exits[zonename, pid, execname, arg1] = count();
}

sdt:kvm::kvm-userspace-exit
{
	@userspace_exits[zonename, pid, execname, arg0] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg exits\n");
	printa(@exits);
	printf("\036dtscope-0123abcd end exits\n");
	printf("\036dtscope-0123abcd agg userspace_exits\n");
	printa(@userspace_exits);
	printf("\036dtscope-0123abcd end userspace_exits\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
