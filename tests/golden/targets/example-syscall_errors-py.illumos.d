syscall:::return
/errno != 0/
{
	@failures[execname, probefunc, errno] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg failures\n");
	printa(@failures);
	printf("\036dtscope-0123abcd end failures\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
