syscall:::return
/errno != 0/
{
	@failures[execname, probefunc, errno] = count();
}
