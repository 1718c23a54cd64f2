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
	printf("\036dtscope-0123abcd agg disk_bytes\n");
	printa(@disk_bytes);
	printf("\036dtscope-0123abcd end disk_bytes\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
