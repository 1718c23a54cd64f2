#!/usr/bin/env python3
"""Scrape latency of `dtscope export` with many series while snapshots keep arriving.

A child process runs the exporter (the real ScriptMetrics, Exposition and HTTP server)
fed by a synthetic tracer: every --interval seconds a snapshot in which every one of
--series series changes (the worst case: the data part is re-rendered each time).
This process scrapes /metrics like Prometheus does (keep-alive, gzip) from
--scrapers connections for --duration seconds and prints latency percentiles.

    .venv/bin/python bench/scrape.py                      # 10,000 series, 1 s snapshots
    .venv/bin/python bench/scrape.py --series 10000 --scrapers 4 --duration 30

Target (issue 8): p99 under 50 ms with 10,000 series on the 2-core test VM.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time


def serve(series: int, histograms: int, interval: float) -> None:
    """Child: the exporter with a synthetic snapshot stream; prints its port."""
    import datetime as dt

    from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot
    from dtscope.exporters.http import ExporterServer
    from dtscope.exporters.prometheus import Exposition, ScriptMetrics
    from dtscope.exporters.supervisor import Supervisor

    infos = {
        "calls": AggInfo("calls", "count", ["execname", "pid"]),
        "lat": AggInfo("lat", "quantize", ["execname"], "ns"),
    }
    render_times: list[float] = []

    def source():
        seq = 0
        next_at = time.monotonic()
        while True:
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
            rows = [
                AggRow("calls", "count", (f"proc{i % 500}", 1000 + i), 1 + (seq + i) % 7)
                for i in range(series - histograms)
            ]
            rows += [
                AggRow(
                    "lat",
                    "quantize",
                    (f"proc{i}",),
                    3,
                    [Bucket(1 << (10 + (seq + i) % 12), 2 << (10 + (seq + i) % 12), 3)],
                )
                for i in range(histograms)
            ]
            yield Snapshot(
                time=dt.datetime.now(dt.UTC),
                seq=seq,
                interval=interval,
                rows=rows,
                aggregations=infos,
            )
            seq += 1

    from dtscope.commands.export import tune_process

    tune_process()  # the process settings of `dtscope export`
    metrics = ScriptMetrics("bench", series_limit=max(series, 1))
    exposition = Exposition([metrics])

    def render(m):
        started = time.perf_counter()
        exposition.refresh(m)
        render_times.append(time.perf_counter() - started)

    server = ExporterServer(exposition, ("127.0.0.1", 0)).start()
    Supervisor(metrics, source, on_snapshot=render).start()
    print(server.port, flush=True)
    sys.stdin.readline()  # until the parent is done
    if render_times:
        print(f"{statistics.median(render_times) * 1000:.1f}", flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--series", type=int, default=10_000, help="series in total (default 10000)"
    )
    parser.add_argument(
        "--histograms",
        type=int,
        default=0,
        help="how many of them are histograms (each adds ~14 lines)",
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between snapshots")
    parser.add_argument("--scrapers", type=int, default=2, help="concurrent scrape connections")
    parser.add_argument(
        "--pause", type=float, default=0.1, help="seconds between a scraper's scrapes"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to measure")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.series, args.histograms, args.interval)
        return 0

    child = subprocess.Popen(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--serve",
            "--series",
            str(args.series),
            "--histograms",
            str(args.histograms),
            "--interval",
            str(args.interval),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(child.stdout.readline())
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    # wait for the first snapshot so that every measured scrape carries all series
    time.sleep(args.interval * 2 + 0.5)
    stop_at = time.monotonic() + args.duration

    def scraper() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
                response = connection.getresponse()
                body = response.read()
            except Exception as err:  # noqa: BLE001 - counted and reported
                errors.append(repr(err))
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                sizes.append(len(body))
            if response.status != 200:
                errors.append(f"status {response.status}")
            time.sleep(args.pause)
        connection.close()

    threads = [threading.Thread(target=scraper) for _ in range(args.scrapers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    child.stdin.write("\n")
    child.stdin.flush()
    render_ms = child.stdout.readline().strip()
    child.wait(10)

    # a last plain scrape for the uncompressed size and the number of series
    if not latencies:
        print("no successful scrape", file=sys.stderr)
        return 1
    ms = [v * 1000 for v in latencies]
    print(
        f"series: {args.series} ({args.histograms} histograms), snapshot every {args.interval:g}s, "
        f"{args.scrapers} scraper(s) pausing {args.pause:g}s, {args.duration:g}s"
    )
    print(
        f"scrapes: {len(ms)}, errors: {len(errors)}, gzip body: {statistics.median(sizes) / 1024:.0f} KiB"
    )
    print(
        f"scrape latency ms: p50 {percentile(ms, 50):.1f}  p90 {percentile(ms, 90):.1f}  "
        f"p99 {percentile(ms, 99):.1f}  max {max(ms):.1f}"
    )
    print(
        f"render of the data part per snapshot (in the tracer's thread, not the scrape): "
        f"median {render_ms} ms"
    )
    target_met = percentile(ms, 99) < 50
    print(f"target p99 < 50 ms: {'met' if target_met else 'NOT met'}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
