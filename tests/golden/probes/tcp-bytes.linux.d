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
