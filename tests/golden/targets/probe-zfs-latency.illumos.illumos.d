fbt::zfs_read:entry,
fbt::zfs_write:entry,
fbt::zfs_fsync:entry
{
	self->ts = timestamp;
	self->vp = args[0];
}

fbt::zfs_read:return,
fbt::zfs_write:return,
fbt::zfs_fsync:return
/self->ts != 0/
{
	@latency[stringof(self->vp->v_vfsp->vfs_resource->rs_string), probefunc] = quantize(timestamp - self->ts);
	self->ts = 0;
	self->vp = 0;
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
