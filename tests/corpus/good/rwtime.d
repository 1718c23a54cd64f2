#!/usr/sbin/dtrace -qs
#pragma D option quiet
#pragma D option dynvarsize=8m

syscall::read:entry,
syscall::write:entry
/execname == $$1/
{
	self->ts = timestamp;
}

syscall::read:return,
syscall::write:return
/self->ts/
{
	@time[probefunc] = avg(timestamp - self->ts);
	@dist[probefunc] = quantize(timestamp - self->ts);
	@lat[probefunc, execname] = lquantize((timestamp - self->ts) / 1000, 0, 1000, 10);
	self->ts = 0;
}

tick-10sec
{
	printa("%-10s %@d\n", @time);
	trunc(@time);
	exit(0);
}

END
{
	printa(@dist);
}
