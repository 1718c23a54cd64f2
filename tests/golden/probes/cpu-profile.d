profile-99
{
	@stacks[execname, stack(), ustack()] = count();
}
