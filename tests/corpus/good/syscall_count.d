/* Count system calls by process name: the classic one-liner. */
syscall:::entry
{
	@num[execname] = count();
}
