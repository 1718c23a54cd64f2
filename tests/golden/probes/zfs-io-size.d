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
