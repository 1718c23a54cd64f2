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

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg off_cpu\n");
	printa(@off_cpu);
	printf("\036dtscope-0123abcd end off_cpu\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
