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

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg calls\n");
	printa(@calls);
	printf("\036dtscope-0123abcd end calls\n");
	printf("\036dtscope-0123abcd agg latency\n");
	printa(@latency);
	printf("\036dtscope-0123abcd end latency\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
