"""Disk I/O latency by device and direction: from issue (io:::start) to completion (io:::done)."""

from dtscope.dscript.api import aggregation, args, assoc_array, const, probe, quantize, timestamp

META = {
    "name": "disk-latency",
    "area": "disk",
    "description": "disk I/O latency distributions by device and direction",
    "platforms": ["illumos", "linux"],
}

latency = aggregation(units="ns", labels=["major", "minor", "direction"], help="issue to completion")
started = assoc_array()


@probe("io:::start")
def issue():
    started[args[0].b_edev, args[0].b_blkno] = timestamp


@probe("io:::done", when=lambda: started[args[0].b_edev, args[0].b_blkno] != 0)
def complete():
    latency[args[1].dev_major, args[1].dev_minor, "read" if args[0].b_flags & const.B_READ else "write"] = quantize(
        timestamp - started[args[0].b_edev, args[0].b_blkno]
    )
    del started[args[0].b_edev, args[0].b_blkno]
