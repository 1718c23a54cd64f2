"""Disk I/O sizes by device and direction."""

from dtscope.dscript.api import aggregation, args, const, probe, quantize, this

sizes = aggregation(units="bytes", labels=["device", "direction"])


@probe("io:::start")
def issued():
    this.direction = "read" if args[0].b_flags & const.B_READ else "write"
    sizes[args[1].dev_statname, this.direction] = quantize(args[0].b_bcount)
