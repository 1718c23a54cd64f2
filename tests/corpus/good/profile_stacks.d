#!/usr/sbin/dtrace -Zs
#pragma D option quiet
#pragma D option ustackframes=100
#pragma D option stackframes=100

profile-997
/arg1/
{
	@u[execname, ustack()] = count();
}

profile-997
/arg0/
{
	@k[stack()] = count();
}

profile:::profile-199hz
{
	@both[stack(), ustack(20)] = count();
}

profile:::tick-1s
{
	printa(@u);
	normalize(@u, 10);
	denormalize(@u);
	trunc(@k, 5);
	clear(@both);
}

END
{
	trunc(@u, 10);
	printa("%k %@d\n", @k);
}
