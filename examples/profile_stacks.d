profile-997
/arg0 != 0/
{
	@kernel_stacks[stack()] = count();
}

profile-997
/arg1 != 0/
{
	@user_stacks[execname, ustack()] = count();
}
