"""Disk I/O sizes by device: the distribution and the total bytes issued."""

from dtscope.dscript.api import aggregation, args, probe, quantize, sum

META = {
    "name": "disk-io-size",
    "area": "disk",
    "description": "disk I/O size distributions and total bytes by device (major, minor)",
    "platforms": ["illumos", "linux"],
}

size = aggregation(units="bytes", labels=["major", "minor"], help="bytes per I/O")
io_bytes = aggregation(units="bytes", labels=["major", "minor"], help="total bytes issued")


@probe("io:::start")
def issue():
    size[args[1].dev_major, args[1].dev_minor] = quantize(args[0].b_bcount)
    io_bytes[args[1].dev_major, args[1].dev_minor] = sum(args[0].b_bcount)
