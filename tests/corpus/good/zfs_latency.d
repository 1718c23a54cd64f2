#!/usr/sbin/dtrace -s
#pragma D option quiet

fbt:zfs:zfs_read:entry,
fbt:zfs:zfs_write:entry,
fbt:zfs:zfs_fsync:entry
{
	self->start[probefunc] = timestamp;
	self->path = stringof(((vnode_t *)arg0)->v_path);
}

fbt:zfs:zfs_read:return,
fbt:zfs:zfs_write:return,
fbt:zfs:zfs_fsync:return
/self->start[probefunc]/
{
	@lat[probefunc, ((vnode_t *)self->vp)->v_vfsp->vfs_fstype] =
	    llquantize(timestamp - self->start[probefunc], 10, 3, 9, 10);
	self->start[probefunc] = 0;
	self->path = 0;
}

fbt:zfs:spa_sync:entry
{
	self->sync = timestamp;
}

fbt:zfs:spa_sync:return
/self->sync/
{
	@txg["spa_sync ns"] = quantize(timestamp - self->sync);
	self->sync = 0;
}

sdt:zfs::arc-hit,
sdt:zfs::arc-miss
{
	@arc[probename] = count();
}
