"""ZFS ARC hits and misses (sdt:zfs::arc-hit, sdt:zfs::arc-miss)."""

from dtscope.dscript.api import aggregation, count, execname, probe

META = {
    "name": "zfs-arc",
    "area": "zfs",
    "description": "ZFS ARC hits and misses by process",
    "platforms": ["illumos"],
}

arc = aggregation(units="count", labels=["result", "process"], help="ARC lookups")


@probe("sdt:zfs::arc-hit")
def hit():
    arc["hit", execname] = count()


@probe("sdt:zfs::arc-miss")
def miss():
    arc["miss", execname] = count()
