tcp:::send
{
	@sent[args[2]->ip_daddr] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

tcp:::receive
{
	@received[args[2]->ip_saddr] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg sent\n");
	printa(@sent);
	printf("\036dtscope-0123abcd end sent\n");
	trunc(@sent);
	printf("\036dtscope-0123abcd agg received\n");
	printa(@received);
	printf("\036dtscope-0123abcd end received\n");
	trunc(@received);
	printf("\036dtscope-0123abcd snapshot-end\n");
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
