fbt::zfs_read:entry,
fbt::zfs_write:entry
{
	self->vp = args[0];
	self->uio = args[1];
	self->resid = args[1]->uio_resid;
}

fbt::zfs_read:return,
fbt::zfs_write:return
/self->uio != 0/
{
	@size[stringof(self->vp->v_vfsp->vfs_resource->rs_string), probefunc] = quantize(self->resid - self->uio->uio_resid);
	@io_bytes[stringof(self->vp->v_vfsp->vfs_resource->rs_string), probefunc] = sum(self->resid - self->uio->uio_resid);
	self->vp = 0;
	self->uio = 0;
	self->resid = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg size\n");
	printa(@size);
	printf("\036dtscope-0123abcd end size\n");
	printf("\036dtscope-0123abcd agg io_bytes\n");
	printa(@io_bytes);
	printf("\036dtscope-0123abcd end io_bytes\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
