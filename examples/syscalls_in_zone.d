syscall:::entry
/zonename == "global"/
{
	@calls[execname, probefunc] = count();
}
