tcp:::send
{
	@sent[zonename, args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

tcp:::receive
{
	@received[zonename, args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg sent\n");
	printa(@sent);
	printf("\036dtscope-0123abcd end sent\n");
	printf("\036dtscope-0123abcd agg received\n");
	printa(@received);
	printf("\036dtscope-0123abcd end received\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
