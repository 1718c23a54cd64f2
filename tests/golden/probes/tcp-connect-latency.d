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
