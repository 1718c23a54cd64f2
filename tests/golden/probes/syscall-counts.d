syscall:::entry
{
	@calls[execname, pid, probefunc] = count();
}
