tcp:::connect-established
{
	@outbound[zonename, args[3]->tcps_raddr, args[3]->tcps_rport] = count();
}

tcp:::accept-established
{
	@inbound[zonename, args[3]->tcps_raddr, args[3]->tcps_lport] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg outbound\n");
	printa(@outbound);
	printf("\036dtscope-0123abcd end outbound\n");
	printf("\036dtscope-0123abcd agg inbound\n");
	printa(@inbound);
	printf("\036dtscope-0123abcd end inbound\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
