sdt:kvm::kvm-vexit
{
	@exits[zonename, pid, execname, arg1] = count();
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
	printf("\036dtscope-0123abcd snapshot-end\n");
}
