sched:::off-cpu
{
	self->ts = timestamp;
	self->pid = pid;
}

sched:::on-cpu
/self->ts != 0/
{
	@off_cpu[self->pid, execname] = sum(timestamp - self->ts);
	self->ts = 0;
	self->pid = 0;
}
