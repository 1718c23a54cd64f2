"""Disk I/O latency by device, from the io provider."""

from dtscope.dscript.api import aggregation, args, assoc_array, probe, quantize, timestamp

# When each buffer was issued, keyed by device and block: start and done may run
# on different threads, so a thread-local variable would not do.
start = assoc_array()
latency = aggregation(units="ns", labels=["device"])


@probe("io:::start")
def issued():
    start[args[0].b_edev, args[0].b_blkno] = timestamp


@probe("io:::done", when=lambda: start[args[0].b_edev, args[0].b_blkno] != 0)
def completed():
    latency[args[1].dev_statname] = quantize(timestamp - start[args[0].b_edev, args[0].b_blkno])
    del start[args[0].b_edev, args[0].b_blkno]
