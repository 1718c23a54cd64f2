sdt:sock::sock-send-length
/arg0 > 0/
{
	@sent[zonename, args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = sum(arg0);
}

sdt:sock::sock-recv-length
/arg0 > 0/
{
	@received[zonename, args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = sum(arg0);
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
