tcp:::connect-established
{
	@outbound[zonename, args[3]->tcps_raddr, args[3]->tcps_rport] = count();
}

tcp:::accept-established
{
	@inbound[zonename, args[3]->tcps_raddr, args[3]->tcps_lport] = count();
}
