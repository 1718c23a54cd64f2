syscall::read:return
/arg0 > 0/
{
	@bytes_read[execname] = quantize(arg0);
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg bytes_read\n");
	printa(@bytes_read);
	printf("\036dtscope-0123abcd end bytes_read\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
