sched:::off-cpu
{
	self->ts = timestamp;
}

sched:::on-cpu
/self->ts != 0/
{
	@off_cpu[execname] = sum(timestamp - self->ts);
	self->ts = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg off_cpu\n");
	printa(@off_cpu);
	printf("\036dtscope-0123abcd end off_cpu\n");
	trunc(@off_cpu);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg off_cpu\n");
	printa(@off_cpu);
	printf("\036dtscope-0123abcd end off_cpu\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
