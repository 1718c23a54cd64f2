syscall:::entry
/execname == "zfs-fuse"/
{
	@calls[probefunc] = count();
	self->ts = timestamp;
}

syscall:::return
/self->ts != 0/
{
	@latency[probefunc] = quantize(timestamp - self->ts);
	self->ts = 0;
}

io:::start
/execname == "zfs-fuse"/
{
	@disk_bytes[args[1]->dev_major, args[1]->dev_minor] = sum(args[0]->b_bcount);
}
