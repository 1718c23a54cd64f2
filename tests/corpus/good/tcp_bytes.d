#pragma D option quiet

tcp:::send
{
	@bytes[args[2]->ip_daddr, args[4]->tcp_dport, "send"] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

tcp:::receive
{
	@bytes[args[2]->ip_saddr, args[4]->tcp_sport, "recv"] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

tcp:::connect-request
{
	start[args[1]->cs_cid] = timestamp;
}

tcp:::connect-established
/start[args[1]->cs_cid]/
{
	@connect[args[3]->tcps_raddr] = quantize(timestamp - start[args[1]->cs_cid]);
	start[args[1]->cs_cid] = 0;
}

mib:::tcpRetransSegs
{
	@retrans[zonename] = sum(arg0);
}

END
{
	printa("%-20s %6d %s %@12d\n", @bytes);
}
