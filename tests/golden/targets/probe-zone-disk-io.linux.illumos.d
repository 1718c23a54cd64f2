io:::start
{
	@ios[zonename] = count();
	@io_bytes[zonename] = sum(args[0]->b_bcount);
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg ios\n");
	printa(@ios);
	printf("\036dtscope-0123abcd end ios\n");
	printf("\036dtscope-0123abcd agg io_bytes\n");
	printa(@io_bytes);
	printf("\036dtscope-0123abcd end io_bytes\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
