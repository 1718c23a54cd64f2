"""TCP payload bytes on Linux: what each sendmsg/recvmsg on a TCP socket moved (IPv4)."""

from dtscope.dscript.api import aggregation, arg0, args, probe, sum, zonename

META = {
    "name": "tcp-bytes",
    "area": "net",
    "description": "TCP payload bytes sent and received by zone, remote address/port, local port",
    "platforms": ["linux"],
}

sent = aggregation(units="bytes", labels=["zone", "remote address", "remote port", "local port"], help="TCP payload bytes sent")
received = aggregation(units="bytes", labels=["zone", "remote address", "remote port", "local port"], help="TCP payload bytes received")


# Linux has no tracepoint per TCP segment; sock_send_length/sock_recv_length fire in the
# process that sends or receives, so the zone (cgroup) is the right one.
@probe("sdt:sock::sock-send-length", when=lambda: arg0 > 0)
def send():
    sent[zonename, args[3].tcps_raddr, args[3].tcps_rport, args[3].tcps_lport] = sum(arg0)


@probe("sdt:sock::sock-recv-length", when=lambda: arg0 > 0)
def receive():
    received[zonename, args[3].tcps_raddr, args[3].tcps_rport, args[3].tcps_lport] = sum(arg0)
