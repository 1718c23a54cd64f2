sched:::off-cpu
/execname != "sched"/
{
	self->off = timestamp;
}

sched:::on-cpu
/self->off/
{
	@off[execname, curlwpsinfo->pr_pri] = quantize((timestamp - self->off) / 1000);
	@slow[stack(5)] = sum(timestamp - self->off);
	self->off = 0;
}

sched:::enqueue
{
	@q[cpu] = lquantize(curcpu->cpu_disp->disp_nrunnable, 0, 64, 1);
}
