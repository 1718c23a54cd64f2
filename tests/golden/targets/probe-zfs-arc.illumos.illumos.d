sdt:zfs::arc-hit
{
	@arc["hit", execname] = count();
}

sdt:zfs::arc-miss
{
	@arc["miss", execname] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg arc\n");
	printa(@arc);
	printf("\036dtscope-0123abcd end arc\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
