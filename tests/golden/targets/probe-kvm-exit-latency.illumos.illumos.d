sdt:kvm::kvm-vexit
{
	self->exit_ts = timestamp;
	self->reason = arg1;
}

sdt:kvm::kvm-guest-entry
/self->exit_ts != 0/
{
	@latency[zonename, pid, self->reason] = quantize(timestamp - self->exit_ts);
	self->exit_ts = 0;
	self->reason = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg latency\n");
	printa(@latency);
	printf("\036dtscope-0123abcd end latency\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
