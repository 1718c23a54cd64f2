#!/usr/sbin/dtrace -s
/* Distribution of read sizes for one process. */
syscall::read:return
/pid == $target && arg0 > 0/
{
	@sizes = quantize(arg0);
}
