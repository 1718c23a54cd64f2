"""ZFS transaction group sync time by pool (spa_sync)."""

from dtscope.dscript.api import aggregation, args, probe, quantize, self, stringof, timestamp

META = {
    "name": "zfs-txg",
    "area": "zfs",
    "description": "ZFS transaction group (txg) sync time by pool",
    "platforms": ["illumos"],
}

sync_time = aggregation(units="ns", labels=["pool"], help="time spent in spa_sync (one txg)")


@probe("fbt::spa_sync:entry")
def start():
    self.ts = timestamp
    self.spa = args[0]


@probe("fbt::spa_sync:return", when=lambda: self.ts != 0)
def done():
    sync_time[stringof(self.spa.spa_name)] = quantize(timestamp - self.ts)
    del self.ts
    del self.spa
