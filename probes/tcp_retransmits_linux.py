"""TCP retransmitted segments by connection (Linux: tcp:tcp_retransmit_skb)."""

from dtscope.dscript.api import aggregation, args, count, probe

META = {
    "name": "tcp-retransmits",
    "area": "net",
    "description": "TCP retransmitted segments by zone (illumos) or by connection (Linux)",
    "platforms": ["linux"],
}

# Retransmissions run in timers and softirqs, not in the connection's process, so the
# zone is not known on Linux: the breakdown is by connection.
retransmits = aggregation(units="count", labels=["remote address", "remote port", "local port"],
                          help="segments retransmitted")


@probe("tcp:::retransmit")
def retransmit():
    retransmits[args[3].tcps_raddr, args[3].tcps_rport, args[3].tcps_lport] = count()
