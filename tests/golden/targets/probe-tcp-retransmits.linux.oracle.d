tcp:::retransmit
{
	@retransmits[args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg retransmits\n");
	printa(@retransmits);
	printf("\036dtscope-0123abcd end retransmits\n");
	trunc(@retransmits);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg retransmits\n");
	printa(@retransmits);
	printf("\036dtscope-0123abcd end retransmits\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
