io:::start
{
	this->direction = args[0]->b_flags & B_READ ? "read" : "write";
	@sizes[args[1]->dev_statname, this->direction] = quantize(args[0]->b_bcount);
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg sizes\n");
	printa(@sizes);
	printf("\036dtscope-0123abcd end sizes\n");
	trunc(@sizes);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg sizes\n");
	printa(@sizes);
	printf("\036dtscope-0123abcd end sizes\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
