tcp:::send
{
	@sent[zonename, args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

tcp:::receive
{
	@received[zonename, args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}
