syscall:::entry
{
	@calls[execname, pid, probefunc] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg calls\n");
	printa(@calls);
	printf("\036dtscope-0123abcd end calls\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
