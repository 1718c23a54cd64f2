"""Disk I/O by zone (on Linux: by cgroup): requests and bytes issued."""

from dtscope.dscript.api import aggregation, args, count, probe, sum, zonename

META = {
    "name": "zone-disk-io",
    "area": "zones",
    "description": "disk I/O requests and bytes by the zone that issued them",
    "platforms": ["illumos", "linux"],
}

ios = aggregation(units="count", labels=["zone"], help="disk I/O requests issued")
io_bytes = aggregation(units="bytes", labels=["zone"], help="bytes of disk I/O issued")


@probe("io:::start")
def issue():
    ios[zonename] = count()
    io_bytes[zonename] = sum(args[0].b_bcount)
