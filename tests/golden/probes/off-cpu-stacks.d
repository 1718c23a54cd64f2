sched:::off-cpu
{
	self->ts = timestamp;
}

sched:::on-cpu
/self->ts != 0/
{
	@off_cpu[execname, stack(), ustack()] = sum(timestamp - self->ts);
	self->ts = 0;
}
