mib:::tcpRetransSegs
{
	@retransmits[zonename] = sum(arg0);
}
