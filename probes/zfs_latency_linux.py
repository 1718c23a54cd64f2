"""ZFS read, write and fsync latency on Linux, where ZFS (zfs-fuse) serves files through FUSE."""

from dtscope.dscript.api import (
    aggregation,
    arg0,
    arg1,
    arg2,
    assoc_array,
    probe,
    quantize,
    timestamp,
)

META = {
    "name": "zfs-latency",
    "area": "zfs",
    "description": "ZFS read/write/fsync latency distributions by dataset",
    "platforms": ["linux"],
}

FUSE_READ = 15
FUSE_WRITE = 16
FUSE_FSYNC = 20

# Keyed by the FUSE connection: the minor device number of the dataset's mount point
# (`stat -c %d MOUNTPOINT` for minors below 256), since each zfs-fuse dataset is a mount.
latency = aggregation(units="ns", labels=["fuse connection", "operation"],
                      help="FUSE request round trip through the zfs-fuse daemon")
started = assoc_array()
operation = assoc_array()


@probe("sdt:fuse::fuse-request-send", when=lambda: arg2 == FUSE_READ or arg2 == FUSE_WRITE or arg2 == FUSE_FSYNC)
def send():
    started[arg0, arg1] = timestamp
    operation[arg0, arg1] = arg2


@probe("sdt:fuse::fuse-request-end", when=lambda: started[arg0, arg1] != 0)
def end():
    latency[arg0, "read" if operation[arg0, arg1] == FUSE_READ
            else ("write" if operation[arg0, arg1] == FUSE_WRITE else "fsync")] = quantize(timestamp - started[arg0, arg1])
    del started[arg0, arg1]
    del operation[arg0, arg1]
