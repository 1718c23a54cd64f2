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

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg failures\n");
	printa(@failures);
	printf("\036dtscope-0123abcd end failures\n");
	trunc(@failures);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg failures\n");
	printa(@failures);
	printf("\036dtscope-0123abcd end failures\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
