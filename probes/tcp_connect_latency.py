"""TCP connect latency: from the SYN sent to the connection established."""

from dtscope.dscript.api import aggregation, args, assoc_array, probe, quantize, timestamp

META = {
    "name": "tcp-connect-latency",
    "area": "net",
    "description": "TCP connect latency (SYN to established) by remote address and port",
    "platforms": ["illumos", "linux"],
}

latency = aggregation(units="ns", labels=["remote address", "remote port"], help="SYN sent to established")
started = assoc_array()


@probe("tcp:::connect-request")
def syn_sent():
    started[args[1].cs_cid] = timestamp


@probe("tcp:::connect-established", when=lambda: started[args[1].cs_cid] != 0)
def established():
    latency[args[3].tcps_raddr, args[3].tcps_rport] = quantize(timestamp - started[args[1].cs_cid])
    del started[args[1].cs_cid]
