"""Reports from a saved run: latency heat maps, rates of the top keys, a top-keys table.

The numbers come first (:func:`heatmap`, :func:`rates`, :func:`top_keys` are pure and
tested against known runs); matplotlib only draws them. A run is read as intervals:
snapshots with an ``interval`` already hold one interval each; cumulative snapshots
(no interval: totals so far) are differenced, so every column of a heat map is what
happened between two snapshots.

Outputs: a self-contained HTML page (images embedded as base64 PNG, inline CSS, no
scripts or links: it opens offline anywhere) or one PNG with every panel.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dtscope.collectors.model import Snapshot
from dtscope.dscript.aggregations import HISTOGRAM_FUNCTIONS

RATE_FUNCTIONS = ("count", "sum") + HISTOGRAM_FUNCTIONS
Key = tuple[Any, ...]
BucketRange = tuple[int | None, int | None]


# --------------------------------------------------------------------------- intervals


@dataclass
class Interval:
    """What one aggregation did in one interval: per key, a value and bucket counts."""

    end: _dt.datetime
    seconds: float | None
    values: dict[Key, float] = field(default_factory=dict)
    buckets: dict[Key, dict[BucketRange, int]] = field(default_factory=dict)


def _is_cumulative(snapshots: Sequence[Snapshot]) -> bool:
    return all(s.interval is None for s in snapshots)


def intervals(snapshots: Sequence[Snapshot], aggregation: str) -> list[Interval]:
    """The aggregation's activity per interval, oldest first."""
    cumulative = _is_cumulative(snapshots)
    out: list[Interval] = []
    previous: Interval | None = None
    previous_time: _dt.datetime | None = None
    for snap in snapshots:
        rows = [r for r in snap.rows if r.aggregation == aggregation]
        current = Interval(end=snap.time, seconds=snap.interval)
        for row in rows:
            current.values[row.keys] = current.values.get(row.keys, 0) + row.value
            if row.buckets is not None:
                counts = current.buckets.setdefault(row.keys, {})
                for b in row.buckets:
                    counts[(b.lo, b.hi)] = counts.get((b.lo, b.hi), 0) + b.count
        if cumulative:
            totals = current
            current = _difference(totals, previous)
            current.seconds = (snap.time - previous_time).total_seconds() if previous_time else None
            previous = totals
        previous_time = snap.time
        out.append(current)
    return out


def _difference(now: Interval, before: Interval | None) -> Interval:
    if before is None:
        return Interval(end=now.end, seconds=None, values=dict(now.values),
                        buckets={k: dict(v) for k, v in now.buckets.items()})
    diff = Interval(end=now.end, seconds=None)
    for key, value in now.values.items():
        # A total that went down means the aggregation was cleared: count from zero.
        old = before.values.get(key, 0)
        diff.values[key] = value - old if value >= old else value
    for key, counts in now.buckets.items():
        old_counts = before.buckets.get(key, {})
        diff.buckets[key] = {
            r: (c - old_counts.get(r, 0) if c >= old_counts.get(r, 0) else c) for r, c in counts.items()
        }
    return diff


def aggregation_functions(snapshots: Sequence[Snapshot]) -> dict[str, str]:
    """Aggregation name -> its function, in order of first appearance."""
    found: dict[str, str] = {}
    for snap in snapshots:
        for row in snap.rows:
            found.setdefault(row.aggregation, row.function)
    return found


def aggregation_unit(snapshots: Sequence[Snapshot], aggregation: str) -> str | None:
    for snap in snapshots:
        info = snap.aggregations.get(aggregation)
        if info is not None and info.unit:
            return info.unit
    return None


# --------------------------------------------------------------------------- heat maps


@dataclass
class HeatMap:
    """Counts per (bucket, interval): ``counts[b][t]`` for ``buckets[b]`` and ``times[t]``.

    Buckets are the union over the run, lowest first; keys are added together.
    """

    aggregation: str
    unit: str | None
    times: list[_dt.datetime]
    buckets: list[BucketRange]
    counts: list[list[int]]


def _bucket_order(bucket: BucketRange) -> tuple[float, float]:
    lo, hi = bucket
    return (float("-inf") if lo is None else lo, float("inf") if hi is None else hi)


def heatmap(snapshots: Sequence[Snapshot], aggregation: str) -> HeatMap:
    per_interval = intervals(snapshots, aggregation)
    ranges: set[BucketRange] = set()
    for item in per_interval:
        for counts in item.buckets.values():
            ranges.update(r for r, c in counts.items())
    buckets = sorted(ranges, key=_bucket_order)
    index = {r: i for i, r in enumerate(buckets)}
    matrix = [[0] * len(per_interval) for _ in buckets]
    for t, item in enumerate(per_interval):
        for counts in item.buckets.values():
            for r, c in counts.items():
                matrix[index[r]][t] += c
    return HeatMap(aggregation, aggregation_unit(snapshots, aggregation),
                   [i.end for i in per_interval], buckets, matrix)


# --------------------------------------------------------------------------- rates and top keys


@dataclass
class TopKey:
    aggregation: str
    function: str
    keys: Key
    total: float  # count/sum/histogram: over the whole run; others: the last value
    share: float | None  # of the aggregation's total (count/sum/histograms)
    unit: str | None = None


def top_keys(snapshots: Sequence[Snapshot], limit: int = 10) -> list[TopKey]:
    """The largest keys of every aggregation, largest first within each."""
    out: list[TopKey] = []
    for aggregation, function in aggregation_functions(snapshots).items():
        unit = aggregation_unit(snapshots, aggregation)
        if function in RATE_FUNCTIONS:
            totals: dict[Key, float] = {}
            for item in intervals(snapshots, aggregation):
                for key, value in item.values.items():
                    totals[key] = totals.get(key, 0) + value
            grand = sum(totals.values())
            shares = {k: (v / grand if grand else None) for k, v in totals.items()}
        else:
            totals = {}
            for snap in snapshots:
                for row in snap.rows:
                    if row.aggregation == aggregation:
                        totals[row.keys] = row.value
            shares = {k: None for k in totals}
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]
        out.extend(TopKey(aggregation, function, k, v, shares[k], unit) for k, v in ranked)
    return out


@dataclass
class RateSeries:
    aggregation: str
    times: list[_dt.datetime]
    per_second: dict[Key, list[float | None]]  # None where an interval's length is unknown


def rates(snapshots: Sequence[Snapshot], aggregation: str, limit: int = 5) -> RateSeries:
    """Per-second rates over time of the aggregation's ``limit`` largest keys."""
    per_interval = intervals(snapshots, aggregation)
    totals: dict[Key, float] = {}
    for item in per_interval:
        for key, value in item.values.items():
            totals[key] = totals.get(key, 0) + value
    chosen = [k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]]
    series: dict[Key, list[float | None]] = {k: [] for k in chosen}
    for item in per_interval:
        for key in chosen:
            value = item.values.get(key, 0)
            series[key].append(value / item.seconds if item.seconds else None)
    return RateSeries(aggregation, [i.end for i in per_interval], series)


# --------------------------------------------------------------------------- formatting

_TIME_UNITS = [(1e9, "s"), (1e6, "ms"), (1e3, "us"), (1, "ns")]
_BYTE_UNITS = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B")]


def format_value(value: float | None, unit: str | None) -> str:
    """A bucket bound or value in its unit: ``1.5ms``, ``64KiB``, ``1200``."""
    if value is None:
        return "inf"
    scales = _TIME_UNITS if unit == "ns" else _BYTE_UNITS if unit == "bytes" else None
    if scales is None or value == 0:
        return f"{value:g}" if isinstance(value, float) else str(value)
    for factor, suffix in scales:
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:g}"


def bucket_label(bucket: BucketRange, unit: str | None) -> str:
    lo, hi = bucket
    if lo is None:
        return f"< {format_value(hi, unit)}"
    if hi is None:
        return f">= {format_value(lo, unit)}"
    return format_value(lo, unit)


def key_label(keys: Key) -> str:
    if not keys:
        return "(no key)"
    parts = []
    for k in keys:
        text = str(k)
        if "\n" in text:  # a stack: its leaf frame names it
            text = text.split("\n", 1)[0] + " ..."
        parts.append(text)
    return ", ".join(parts)


def agg_label(name: str) -> str:
    return "@" + name


# --------------------------------------------------------------------------- drawing


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _draw_heatmap(ax, hm: HeatMap) -> None:
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.colors import LogNorm

    data = np.array(hm.counts, dtype=float)
    masked = np.ma.masked_less_equal(data, 0)
    peak = float(data.max()) if data.size else 0.0
    norm = LogNorm(vmin=1, vmax=max(peak, 2)) if peak > 0 else None
    times = mdates.date2num(hm.times)
    # Column edges: halfway between snapshots, the first as wide as the second.
    if len(times) > 1:
        steps = np.diff(times)
        edges = np.concatenate([[times[0] - steps[0]], times])
    else:
        edges = np.array([times[0] - 1 / 86400, times[0]]) if len(times) else np.array([0, 1])
    mesh = ax.pcolormesh(edges, np.arange(len(hm.buckets) + 1), masked, cmap="inferno_r", norm=norm,
                         shading="flat")
    ax.set_yticks(np.arange(len(hm.buckets)) + 0.5)
    ax.set_yticklabels([bucket_label(b, hm.unit) for b in hm.buckets], fontsize=7)
    _time_axis(ax)
    ax.set_title(f"{agg_label(hm.aggregation)}: count per {hm.unit or 'value'} bucket over time", fontsize=10)
    ax.set_ylabel(hm.unit or "bucket")
    ax.figure.colorbar(mesh, ax=ax, label="count")


def _time_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _draw_rates(ax, series: RateSeries) -> None:
    for key, values in series.per_second.items():
        points = [(t, v) for t, v in zip(series.times, values) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                    label=key_label(key)[:40])
    ax.set_title(f"{agg_label(series.aggregation)}: rate of the top keys", fontsize=10)
    ax.set_ylabel("per second")
    _time_axis(ax)
    if series.per_second:
        ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


@dataclass
class ReportData:
    title: str
    heatmaps: list[HeatMap]
    rates: list[RateSeries]
    top: list[TopKey]
    snapshots: int
    start: _dt.datetime | None
    end: _dt.datetime | None


def build(snapshots: Sequence[Snapshot], title: str, top: int = 10, rate_keys: int = 5) -> ReportData:
    functions = aggregation_functions(snapshots)
    heatmaps = [heatmap(snapshots, name) for name, fn in functions.items() if fn in HISTOGRAM_FUNCTIONS]
    series = [rates(snapshots, name, rate_keys) for name, fn in functions.items() if fn in RATE_FUNCTIONS]
    series = [s for s in series if any(v is not None for vs in s.per_second.values() for v in vs)]
    return ReportData(title, [h for h in heatmaps if h.buckets], series, top_keys(snapshots, top),
                      len(snapshots), snapshots[0].time if snapshots else None,
                      snapshots[-1].time if snapshots else None)


def heatmap_png(hm: HeatMap) -> bytes:
    fig = _figure(10, max(3.0, 0.9 + 0.22 * len(hm.buckets)))
    _draw_heatmap(fig.add_subplot(), hm)
    return _png(fig)


def rates_png(series: RateSeries) -> bytes:
    fig = _figure(10, 3.2)
    _draw_rates(fig.add_subplot(), series)
    return _png(fig)


_STYLE = (
    "<style>body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}"
    "img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f0f0}"
    ".meta{color:#666}</style></head><body>"
)


def render_html(data: ReportData) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{esc(data.title)}</title>",
        _STYLE,
        f"<h1>{esc(data.title)}</h1>",
        f"<p class=\"meta\">{data.snapshots} snapshots"
        + (f", {esc(_iso(data.start))} to {esc(_iso(data.end))}" if data.start else "") + "</p>",
    ]
    if data.heatmaps:
        parts.append("<h2>Heat maps</h2>")
        for hm in data.heatmaps:
            parts.append(_img(heatmap_png(hm), f"heat map of {agg_label(hm.aggregation)}"))
    if data.rates:
        parts.append("<h2>Rates over time</h2>")
        for series in data.rates:
            parts.append(_img(rates_png(series), f"rates of {agg_label(series.aggregation)}"))
    parts.append("<h2>Top keys</h2>")
    if data.top:
        parts.append("<table><tr><th>aggregation</th><th>function</th><th>keys</th>"
                     "<th>total</th><th>share</th></tr>")
        for item in data.top:
            share = f"{100 * item.share:.1f}%" if item.share is not None else ""
            parts.append(
                f"<tr><td>{esc(agg_label(item.aggregation))}</td><td>{esc(item.function)}</td>"
                f"<td>{esc(key_label(item.keys))}</td><td class=\"n\">{esc(_number(item))}</td>"
                f"<td class=\"n\">{share}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>The run has no aggregation rows.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _number(item: TopKey) -> str:
    if item.function in ("count",) + HISTOGRAM_FUNCTIONS:
        return f"{int(item.total):,}"
    return format_value(item.total, item.unit)


def _iso(t: _dt.datetime | None) -> str:
    return t.isoformat(timespec="seconds") if t else ""


def _img(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}"></p>'


def render_png(data: ReportData) -> bytes:
    """Every panel in one image: heat maps, rates, then the top keys as a table."""
    rows = [("heat", h) for h in data.heatmaps] + [("rate", r) for r in data.rates]
    table_rows = min(len(data.top), 25)
    heights = [max(3.0, 0.9 + 0.22 * len(h.buckets)) if kind == "heat" else 3.2 for kind, h in rows]
    heights.append(0.6 + 0.25 * max(table_rows, 1))
    fig = _figure(10, sum(heights) + 0.6)
    fig.suptitle(data.title)
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    for i, (kind, item) in enumerate(rows):
        ax = fig.add_subplot(grid[i])
        if kind == "heat":
            _draw_heatmap(ax, item)
        else:
            _draw_rates(ax, item)
    ax = fig.add_subplot(grid[-1])
    ax.axis("off")
    ax.set_title("Top keys", fontsize=10)
    if table_rows:
        cells = [[agg_label(t.aggregation), t.function, key_label(t.keys)[:60], _number(t),
                  f"{100 * t.share:.1f}%" if t.share is not None else ""] for t in data.top[:table_rows]]
        table = ax.table(cellText=cells, colLabels=["aggregation", "function", "keys", "total", "share"],
                         loc="upper center", cellLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
    return _png(fig)
