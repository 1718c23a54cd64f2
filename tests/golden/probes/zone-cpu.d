profile-997
{
	@samples[zonename, execname] = count();
}
