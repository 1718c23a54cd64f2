"""ZFS read and write sizes by dataset: bytes actually moved by zfs_read/zfs_write."""

from dtscope.dscript.api import aggregation, args, probe, probefunc, quantize, self, stringof, sum

META = {
    "name": "zfs-io-size",
    "area": "zfs",
    "description": "ZFS read/write sizes (distribution and total bytes) by dataset",
    "platforms": ["illumos"],
}

size = aggregation(units="bytes", labels=["dataset", "operation"], help="bytes per zfs_read/zfs_write")
io_bytes = aggregation(units="bytes", labels=["dataset", "operation"], help="total bytes read and written")


@probe("fbt::zfs_read:entry", "fbt::zfs_write:entry")
def start():
    self.vp = args[0]
    self.uio = args[1]
    self.resid = args[1].uio_resid


@probe("fbt::zfs_read:return", "fbt::zfs_write:return", when=lambda: self.uio != 0)
def done():
    # What was asked minus what is left: the bytes this call moved.
    size[stringof(self.vp.v_vfsp.vfs_resource.rs_string), probefunc] = quantize(self.resid - self.uio.uio_resid)
    io_bytes[stringof(self.vp.v_vfsp.vfs_resource.rs_string), probefunc] = sum(self.resid - self.uio.uio_resid)
    del self.vp
    del self.uio
    del self.resid
