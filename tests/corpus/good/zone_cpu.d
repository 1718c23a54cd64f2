/* CPU samples by zone and process, the SmartOS way. */
profile-997
/arg0 != 0 || arg1 != 0/
{
	@cpu[zonename, execname] = count();
}

profile-997
/zonename != "global"/
{
	@stacks[zonename, stack(10), ustack()] = count();
}

tick-1s
{
	printa(@cpu);
	trunc(@cpu, 20);
	clear(@stacks);
}
