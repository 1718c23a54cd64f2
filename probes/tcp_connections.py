"""TCP connections established, by zone, remote address and port."""

from dtscope.dscript.api import aggregation, args, count, probe, zonename

META = {
    "name": "tcp-connections",
    "area": "net",
    "description": "TCP connections made (outbound) and accepted (inbound) by zone, remote address, port",
    "platforms": ["illumos", "linux"],
}

outbound = aggregation(units="count", labels=["zone", "remote address", "remote port"],
                       help="connections this host opened")
inbound = aggregation(units="count", labels=["zone", "remote address", "local port"],
                      help="connections this host accepted")


@probe("tcp:::connect-established")
def connected():
    outbound[zonename, args[3].tcps_raddr, args[3].tcps_rport] = count()


@probe("tcp:::accept-established")
def accepted():
    inbound[zonename, args[3].tcps_raddr, args[3].tcps_lport] = count()
