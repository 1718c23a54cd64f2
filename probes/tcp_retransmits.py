"""TCP retransmitted segments by zone (the MIB counter tcpRetransSegs)."""

from dtscope.dscript.api import aggregation, arg0, probe, sum, zonename

META = {
    "name": "tcp-retransmits",
    "area": "net",
    "description": "TCP retransmitted segments by zone (illumos) or by connection (Linux)",
    "platforms": ["illumos"],
}

retransmits = aggregation(units="count", labels=["zone"], help="segments retransmitted")


@probe("mib:::tcpRetransSegs")
def retransmit():
    # arg0 is the amount the MIB counter is incremented by.
    retransmits[zonename] = sum(arg0)
