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

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg pio\n");
	printa(@pio);
	printf("\036dtscope-0123abcd end pio\n");
	printf("\036dtscope-0123abcd agg mmio\n");
	printa(@mmio);
	printf("\036dtscope-0123abcd end mmio\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
