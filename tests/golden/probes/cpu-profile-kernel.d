profile-99
{
	@stacks[stack()] = count();
}
