syscall:::entry
{
	self->ts = timestamp;
}

syscall:::return
/self->ts != 0/
{
	@latency[execname, probefunc] = quantize(timestamp - self->ts);
	self->ts = 0;
}
