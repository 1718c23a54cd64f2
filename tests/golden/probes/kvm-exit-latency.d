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
