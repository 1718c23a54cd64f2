"""ZFS read, write and fsync latency by dataset (illumos: fbt on the ZPL entry points)."""

from dtscope.dscript.api import (
    aggregation,
    args,
    probe,
    probefunc,
    quantize,
    self,
    stringof,
    timestamp,
)

META = {
    "name": "zfs-latency",
    "area": "zfs",
    "description": "ZFS read/write/fsync latency distributions by dataset",
    "platforms": ["illumos"],
}

latency = aggregation(units="ns", labels=["dataset", "operation"],
                      help="time in zfs_read/zfs_write/zfs_fsync")


@probe("fbt::zfs_read:entry", "fbt::zfs_write:entry", "fbt::zfs_fsync:entry")
def start():
    self.ts = timestamp
    self.vp = args[0]


@probe("fbt::zfs_read:return", "fbt::zfs_write:return", "fbt::zfs_fsync:return", when=lambda: self.ts != 0)
def done():
    # vfs_resource is the mounted resource: the dataset name ("zones/var").
    latency[stringof(self.vp.v_vfsp.vfs_resource.rs_string), probefunc] = quantize(timestamp - self.ts)
    del self.ts
    del self.vp
