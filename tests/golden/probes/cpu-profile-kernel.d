profile-99
{
	@stacks[execname, stack()] = count();
}
