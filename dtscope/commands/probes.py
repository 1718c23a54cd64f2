"""List the ready-made probe library.

Each probe is a Python-authored script with metadata: its area, a one-line description,
parameters (set with -D NAME=VALUE), the unit of each aggregation and the platforms it
serves. Any command that takes a script also takes a probe name.

examples:
  dtscope probes                      all probes, by area
  dtscope probes --area zfs           only the ZFS probes
  dtscope probes --names              bare names, one per line (for scripts)
  dtscope probes --long zone-cpu      everything about one probe
  dtscope run zone-syscalls --duration 10s -o zones.jsonl
"""

from __future__ import annotations

import argparse

from dtscope import probes as library
from dtscope.errors import UsageError
from dtscope.probes import AREAS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", choices=AREAS, help="only the probes of this area")
    parser.add_argument("--names", action="store_true", help="print bare probe names, one per line")
    parser.add_argument("--long", action="store_true", help="print parameters, units and platforms too")
    parser.add_argument("probes", nargs="*", metavar="PROBE", help="only these probes")


def run(args: argparse.Namespace) -> int:
    selected = library.list(args.area)
    if args.probes:
        known = {p.name for p in library.list()}
        unknown = [name for name in args.probes if name not in known]
        if unknown:
            raise UsageError(f"no such probe: {', '.join(unknown)} (see `dtscope probes`)")
        selected = [p for p in selected if p.name in args.probes]
    if args.names:
        for probe in selected:
            print(probe.name)
        return 0
    width = max((len(p.name) for p in selected), default=0)
    area = None
    for probe in selected:
        if probe.area != area:
            if area is not None:
                print()
            area = probe.area
            print(f"{area}:")
        platforms = "" if len(probe.platforms) == 2 else f"  [{probe.platforms[0]} only]"
        print(f"  {probe.name:<{width}}  {probe.description}{platforms}")
        if args.long:
            _print_details(probe)
    return 0


def _print_details(probe) -> None:
    pad = "      "
    print(f"{pad}platforms: {', '.join(probe.platforms)}")
    for param in probe.params:
        default = "required" if param.default is None else f"default {param.default}"
        print(f"{pad}-D {param.name}=<{param.type}>  ({default}) {param.help}".rstrip())
    for aggregation, unit in probe.units.items():
        labels = probe.labels.get(aggregation)
        keys = f" by {', '.join(labels)}" if labels else ""
        print(f"{pad}@{aggregation}: {unit}{keys}")
    for platform, units in probe.units_by_platform.items():
        for aggregation, unit in units.items():
            if aggregation not in probe.units:
                print(f"{pad}@{aggregation}: {unit} ({platform} only)")
