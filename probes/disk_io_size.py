"""Disk I/O sizes by device and direction: the distribution and the total bytes issued."""

from dtscope.dscript.api import aggregation, args, const, probe, quantize, sum, this

META = {
    "name": "disk-io-size",
    "area": "disk",
    "description": "disk I/O size distributions and total bytes by device and direction",
    "platforms": ["illumos", "linux"],
}

size = aggregation(units="bytes", labels=["major", "minor", "direction"], help="bytes per I/O")
io_bytes = aggregation(units="bytes", labels=["major", "minor", "direction"], help="total bytes issued")


@probe("io:::start")
def issue():
    # Read the arguments once (bpftrace 0.17 may emit a context access the verifier
    # rejects when they are read again after a histogram update).
    this.major = args[1].dev_major
    this.minor = args[1].dev_minor
    this.size = args[0].b_bcount
    this.direction = "read" if args[0].b_flags & const.B_READ else "write"
    size[this.major, this.minor, this.direction] = quantize(this.size)
    io_bytes[this.major, this.minor, this.direction] = sum(this.size)
