profile-99
{
	@stacks[execname, ustack()] = count();
}
