"""IP packets sent and received by network interface (ip:::send/receive)."""

from dtscope.dscript.api import aggregation, args, count, probe

META = {
    "name": "net-packets",
    "area": "net",
    "description": "IP packets sent and received by interface",
    "platforms": ["illumos", "linux"],
}

packets = aggregation(units="count", labels=["interface", "direction"], help="IP packets")


@probe("ip:::send")
def send():
    packets[args[3].if_name, "send"] = count()


@probe("ip:::receive")
def receive():
    packets[args[3].if_name, "receive"] = count()
