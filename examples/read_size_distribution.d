syscall::read:return
/arg0 > 0/
{
	@bytes_read[execname] = quantize(arg0);
}
