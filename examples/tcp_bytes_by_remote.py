"""TCP payload bytes sent to and received from each remote address."""

from dtscope.dscript.api import aggregation, args, probe, sum

sent = aggregation(units="bytes", labels=["remote address"])
received = aggregation(units="bytes", labels=["remote address"])


@probe("tcp:::send")
def on_send():
    # args[2] is the ipinfo_t, args[4] the tcpinfo_t: payload = IP payload - TCP header.
    sent[args[2].ip_daddr] = sum(args[2].ip_plength - args[4].tcp_offset)


@probe("tcp:::receive")
def on_receive():
    received[args[2].ip_saddr] = sum(args[2].ip_plength - args[4].tcp_offset)
