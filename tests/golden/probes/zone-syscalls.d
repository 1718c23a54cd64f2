syscall:::entry
{
	@calls[zonename, probefunc] = count();
	self->ts = timestamp;
}

syscall:::return
/self->ts != 0/
{
	@latency[zonename] = quantize(timestamp - self->ts);
	self->ts = 0;
}
