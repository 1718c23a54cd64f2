"""TCP payload bytes by zone, remote address and port, and local port (tcp:::send/receive)."""

from dtscope.dscript.api import aggregation, args, probe, sum, zonename

META = {
    "name": "tcp-bytes",
    "area": "net",
    "description": "TCP payload bytes sent and received by zone, remote address/port, local port",
    "platforms": ["illumos"],
}

sent = aggregation(units="bytes", labels=["zone", "remote address", "remote port", "local port"], help="TCP payload bytes sent")
received = aggregation(units="bytes", labels=["zone", "remote address", "remote port", "local port"], help="TCP payload bytes received")


@probe("tcp:::send")
def send():
    # args[2] ipinfo_t, args[3] tcpsinfo_t (the connection), args[4] tcpinfo_t (the segment).
    sent[zonename, args[3].tcps_raddr, args[3].tcps_rport, args[3].tcps_lport] = sum(
        args[2].ip_plength - args[4].tcp_offset
    )


@probe("tcp:::receive")
def receive():
    received[zonename, args[3].tcps_raddr, args[3].tcps_rport, args[3].tcps_lport] = sum(
        args[2].ip_plength - args[4].tcp_offset
    )
