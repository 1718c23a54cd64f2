"""CPU samples by zone (on Linux: by cgroup), from profile sampling."""

from dtscope.dscript.api import aggregation, count, execname, param, probe, zonename

META = {
    "name": "zone-cpu",
    "area": "zones",
    "description": "which zone burns CPU: profile samples by zone and process",
    "platforms": ["illumos", "linux"],
}

hz = param(int, default=997, help="samples per second on each CPU")

samples = aggregation(units="count", labels=["zone", "process"], help="on-CPU samples")


@probe("profile-{hz}")
def sample():
    samples[zonename, execname] = count()
