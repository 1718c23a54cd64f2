mib:::tcpRetransSegs
{
	@retransmits[zonename] = sum(arg0);
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg retransmits\n");
	printa(@retransmits);
	printf("\036dtscope-0123abcd end retransmits\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
