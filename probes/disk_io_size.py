"""Disk I/O sizes by device: the distribution and the total bytes issued."""

from dtscope.dscript.api import aggregation, args, probe, quantize, sum, this

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
    # Read the arguments once (bpftrace 0.17 may emit a context access the verifier
    # rejects when they are read again after a histogram update).
    this.major = args[1].dev_major
    this.minor = args[1].dev_minor
    this.size = args[0].b_bcount
    size[this.major, this.minor] = quantize(this.size)
    io_bytes[this.major, this.minor] = sum(this.size)
