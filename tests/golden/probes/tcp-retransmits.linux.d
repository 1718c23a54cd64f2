tcp:::retransmit
{
	@retransmits[args[3]->tcps_raddr, args[3]->tcps_rport, args[3]->tcps_lport] = count();
}
