"""What the zfs-fuse daemon does underneath: its system calls and the disk I/O it issues."""

from dtscope.dscript.api import (
    aggregation,
    args,
    count,
    execname,
    param,
    probe,
    probefunc,
    quantize,
    self,
    sum,
    timestamp,
)

META = {
    "name": "zfs-fuse-daemon",
    "area": "zfs",
    "description": "the zfs-fuse daemon's system calls (count, latency) and disk I/O bytes",
    "platforms": ["linux"],
}

daemon = param(str, default="zfs-fuse", help="the daemon's process name")

calls = aggregation(units="count", labels=["syscall"], help="system calls made by the daemon")
latency = aggregation(units="ns", labels=["syscall"], help="the daemon's system call latency")
disk_bytes = aggregation(units="bytes", labels=["major", "minor"], help="disk I/O the daemon issued")


@probe("syscall:::entry", when=lambda: execname == daemon)
def enter():
    calls[probefunc] = count()
    self.ts = timestamp


@probe("syscall:::return", when=lambda: self.ts != 0)
def leave():
    latency[probefunc] = quantize(timestamp - self.ts)
    del self.ts


@probe("io:::start", when=lambda: execname == daemon)
def disk_io():
    disk_bytes[args[1].dev_major, args[1].dev_minor] = sum(args[0].b_bcount)
