kvm:::kvm-exit
{
	self->exit = timestamp;
	self->reason = args[0];
	@exits[zonename, pid, args[0]] = count();
}

kvm:::kvm-entry
/self->exit/
{
	@handle[zonename, self->reason] = quantize(timestamp - self->exit);
	self->exit = 0;
}

kvm:::kvm-pio
{
	@pio[zonename, args[0] ? "out" : "in", args[1]] = count();
}

kvm:::kvm-mmio
{
	@mmio[zonename, args[0]] = sum(args[1]);
}
