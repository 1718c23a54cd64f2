"""What one snapshot of 10,000 keys costs `dtscope top`, and whether memory stays bounded.

    .venv/bin/python bench/tui.py [--keys 10000] [--snapshots 150] [--history 120]

Prints, per snapshot: the state update (ingest: percentiles of every key, history
arrays), building the table (rows, sort, worst rows), and a full refresh of the real
app running headless (ingest + table + detail pane + the screen drawn). At a 1 s
interval the total must stay well under 1000 ms. Then the resident memory after
each block of snapshots: it levels off once the history window (120 snapshots) is full,
even though a tenth of the keys are new in every snapshot (short-lived processes; a key
idle for 10 snapshots leaves the table).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import sys
import time

from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot
from dtscope.tui.app import TopApp, tune_garbage_collector
from dtscope.tui.source import SnapshotSource, SourceInfo
from dtscope.tui.state import TopState

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
INFO = {"lat": AggInfo("lat", "quantize", ["execname", "probefunc"], "ns")}


def make_snapshot(number: int, keys: int) -> Snapshot:
    """``keys`` rows with 2-5 buckets each; 10% of the keys are new in every snapshot."""
    rows = []
    churn = keys // 10
    for k in range(keys):
        key_number = k if k >= churn else keys + number * churn + k
        width = 2 + k % 4
        base = 8 + k % 12
        buckets = [Bucket(2 ** (base + j), 2 ** (base + j + 1), 1 + (k * 7 + j * 13 + number) % 50) for j in range(width)]
        rows.append(AggRow("lat", "quantize", (f"proc{key_number}", "read"), sum(b.count for b in buckets), buckets))
    return Snapshot(T0 + dt.timedelta(seconds=number), rows, seq=number, interval=1.0, aggregations=INFO)


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class NoSource(SnapshotSource):
    def __init__(self) -> None:
        super().__init__(SourceInfo("bench", "synthetic", 1.0))

    def snapshots(self):
        return iter(())


def bench_state(args) -> None:
    state = TopState(history=args.history)
    ingest_ms, view_ms = [], []
    memory = []
    for number in range(args.snapshots):
        snap = make_snapshot(number, args.keys)
        start = time.perf_counter()
        state.ingest(snap)
        middle = time.perf_counter()
        view = state.view("lat", sort="p99", descending=True)
        view.worst()
        [view.row(i) for i in range(40)]  # what a screen shows
        end = time.perf_counter()
        ingest_ms.append((middle - start) * 1000)
        view_ms.append((end - middle) * 1000)
        del snap
        if (number + 1) % 30 == 0:
            memory.append((number + 1, rss_mib(), len(state.aggregations["lat"].keys)))
    print(f"state, {args.keys} keys, {args.snapshots} snapshots, history {args.history}:")
    print(f"  ingest        median {statistics.median(ingest_ms):7.1f} ms   max {max(ingest_ms):7.1f} ms")
    print(f"  table rows    median {statistics.median(view_ms):7.1f} ms   max {max(view_ms):7.1f} ms")
    print("  memory after N snapshots (RSS MiB, keys held):")
    for number, mib, keys in memory:
        print(f"    {number:5d}  {mib:7.1f} MiB  {keys} keys")


async def bench_app(args) -> None:
    app = TopApp(NoSource(), history=args.history, record=False)
    costs = []
    async with app.run_test(size=(120, 40)) as pilot:
        for number in range(args.app_snapshots):
            snap = make_snapshot(number, args.keys)
            start = time.perf_counter()
            app.state.ingest(snap)
            app.refresh_view()
            await pilot.pause()  # lets the screen be drawn
            costs.append((time.perf_counter() - start) * 1000)
        await pilot.press("down", "g", "down", "enter")  # regroup by execname: 10,000 groups
        start = time.perf_counter()
        app.state.ingest(make_snapshot(args.app_snapshots, args.keys))
        app.refresh_view()
        await pilot.pause()
        grouped = (time.perf_counter() - start) * 1000
    print(f"app (headless 120x40), {args.keys} keys, {args.app_snapshots} snapshots:")
    print(f"  full refresh  median {statistics.median(costs):7.1f} ms   max {max(costs):7.1f} ms")
    print(f"  regrouped     {grouped:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--snapshots", type=int, default=150)
    parser.add_argument("--history", type=int, default=120)
    parser.add_argument("--app-snapshots", type=int, default=10)
    parser.add_argument("--default-gc", action="store_true", help="keep Python's default collector thresholds")
    args = parser.parse_args(argv)
    if not args.default_gc:
        tune_garbage_collector()  # as `dtscope top` does
    bench_state(args)
    asyncio.run(bench_app(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
