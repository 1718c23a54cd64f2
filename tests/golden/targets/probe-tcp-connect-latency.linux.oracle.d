tcp:::connect-request
{
	started[args[1]->cs_cid] = timestamp;
}

tcp:::connect-established
/started[args[1]->cs_cid] != 0/
{
	@latency[args[3]->tcps_raddr, args[3]->tcps_rport] = quantize(timestamp - started[args[1]->cs_cid]);
	started[args[1]->cs_cid] = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg latency\n");
	printa(@latency);
	printf("\036dtscope-0123abcd end latency\n");
	trunc(@latency);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg latency\n");
	printa(@latency);
	printf("\036dtscope-0123abcd end latency\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
