"""FUSE requests to zfs-fuse (or any FUSE file system): counts, latency and errors by opcode."""

from dtscope.dscript.api import (
    aggregation,
    arg0,
    arg1,
    arg2,
    arg3,
    assoc_array,
    count,
    probe,
    quantize,
    timestamp,
)

META = {
    "name": "zfs-fuse-requests",
    "area": "zfs",
    "description": "FUSE requests (zfs-fuse on Linux) by connection and opcode, latency, errors",
    "platforms": ["linux"],
}

# Opcodes (include/uapi/linux/fuse.h): 1 LOOKUP, 3 GETATTR, 14 OPEN, 15 READ, 16 WRITE,
# 18 RELEASE, 20 FSYNC, 25 FLUSH, 35 CREATE... (see docs/probes.md).
requests = aggregation(units="count", labels=["fuse connection", "opcode"], help="requests sent to the daemon")
latency = aggregation(units="ns", labels=["opcode"], help="request round trip through the daemon")
errors = aggregation(units="count", labels=["fuse connection", "opcode", "errno"], help="requests answered with an error")
started = assoc_array()
opcode = assoc_array()


@probe("sdt:fuse::fuse-request-send")
def send():
    requests[arg0, arg2] = count()
    started[arg0, arg1] = timestamp
    opcode[arg0, arg1] = arg2


@probe("sdt:fuse::fuse-request-end", when=lambda: started[arg0, arg1] != 0)
def end():
    latency[opcode[arg0, arg1]] = quantize(timestamp - started[arg0, arg1])
    if arg3 != 0:
        errors[arg0, opcode[arg0, arg1], -arg3] = count()
    del started[arg0, arg1]
    del opcode[arg0, arg1]
