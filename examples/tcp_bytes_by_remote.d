tcp:::send
{
	@sent[args[2]->ip_daddr] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

tcp:::receive
{
	@received[args[2]->ip_saddr] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}
