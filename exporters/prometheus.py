"""Snapshots in, Prometheus metric families out.

The tracer stream yields one :class:`~dtscope.collectors.model.Snapshot` per interval,
holding the values of that interval only. :class:`ScriptMetrics` folds them into the
state Prometheus expects, and a custom collector builds fresh metric families from
that state on every ``collect()``:

* ``count``/``sum`` become counters, summed over intervals (so they never go back,
  even when the tracer restarts);
* ``quantize``/``lquantize``/``llquantize`` become histograms whose buckets are summed
  over intervals and exposed as cumulative ``le`` buckets;
* ``avg``/``min``/``max``/``stddev`` become gauges holding the last interval's values.

Names follow ``dtscope_<script>_<aggregation>`` plus a base-unit suffix (``_seconds``,
``_bytes``) and ``_total`` for counters; nanoseconds are exposed as seconds. Keys become
labels named after their D expressions (:data:`KEY_LABELS`). See docs/exporter.md.
"""

from __future__ import annotations

import math
import os
import re
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot
from dtscope.dscript.aggregations import HISTOGRAM_FUNCTIONS
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

DEFAULT_SERIES_LIMIT = 10_000

COUNTER_FUNCTIONS = ("count", "sum")
GAUGE_FUNCTIONS = ("avg", "min", "max", "stddev")

# Label names for well-known key expressions. Anything else is sanitized
# (``self->fd`` -> ``fd``, ``args[0]`` -> ``arg0``, ``copyinstr(arg0)`` -> ``copyinstr_arg0``).
# ``probefunc`` is ``function`` rather than ``syscall``: it is the syscall name only under
# the syscall provider, and a label must not lie under fbt or pid.
KEY_LABELS: dict[str, str] = {
    "zonename": "zone",
    "execname": "execname",
    "pid": "pid",
    "ppid": "ppid",
    "tid": "tid",
    "uid": "uid",
    "gid": "gid",
    "cpu": "cpu",
    "errno": "errno",
    "probeprov": "provider",
    "probemod": "module",
    "probefunc": "function",
    "probename": "probe",
    "curpsinfo->pr_psargs": "psargs",
    "stack()": "stack",
    "ustack()": "ustack",
    "cgroup": "cgroup",
}

# Labels Prometheus gives a meaning of its own (``le`` of histograms; ``job`` and
# ``instance`` attached at scrape time): a key with such a name is prefixed with ``key_``.
RESERVED_LABELS = frozenset({"le", "quantile", "job", "instance"})

# unit -> (divisor to the base unit, base-unit suffix or None)
UNITS: dict[str, tuple[float, str | None]] = {
    "ns": (1e9, "seconds"),
    "nsec": (1e9, "seconds"),
    "nanoseconds": (1e9, "seconds"),
    "us": (1e6, "seconds"),
    "usec": (1e6, "seconds"),
    "microseconds": (1e6, "seconds"),
    "ms": (1e3, "seconds"),
    "msec": (1e3, "seconds"),
    "milliseconds": (1e3, "seconds"),
    "s": (1.0, "seconds"),
    "sec": (1.0, "seconds"),
    "seconds": (1.0, "seconds"),
    "bytes": (1.0, "bytes"),
    "byte": (1.0, "bytes"),
    "kb": (1.0 / 1024, "bytes"),
    "kib": (1.0 / 1024, "bytes"),
    "count": (1.0, None),
    "": (1.0, None),
}

_INVALID = re.compile(r"[^a-zA-Z0-9_]+")


def sanitize_name(text: str) -> str:
    """A Prometheus name part: invalid runs become ``_``; never empty, never a leading digit."""
    name = _INVALID.sub("_", text).strip("_")
    if not name:
        return ""
    if name[0].isdigit():
        name = "_" + name
    return name


def label_for_key(expression: str | None, index: int) -> str:
    """The label name for one aggregation key, from its D expression."""
    text = (expression or "").strip()
    compact = re.sub(r"\s+", "", text)
    if compact in KEY_LABELS:
        return KEY_LABELS[compact]
    # stack(5) / ustack(20, 0) -> stack / ustack
    call = re.fullmatch(r"(u?stack)\(.*\)", compact)
    if call:
        return call.group(1)
    compact = re.sub(r"^(self|this)->", "", compact)
    compact = re.sub(r"^args\[(\d+)\]", r"arg\1", compact)
    name = sanitize_name(compact).lstrip("_")  # "__" names are reserved by Prometheus
    if not name:
        return f"key{index}"
    if name[0].isdigit():
        name = "_" + name
    if name in RESERVED_LABELS:
        name = "key_" + name
    return name


def label_names(key_names: list[str], width: int) -> list[str]:
    """Unique label names for ``width`` keys (a repeated name gets its position appended)."""
    names: list[str] = []
    for i in range(width):
        name = label_for_key(key_names[i] if i < len(key_names) else None, i)
        if name in names:
            name = f"{name}_{i}"
        names.append(name)
    return names


def unit_of(unit: str | None) -> tuple[float, str | None]:
    if unit is None:
        return 1.0, None
    return UNITS.get(unit.strip().lower(), (1.0, None))


def metric_name(script: str, aggregation: str, function: str, unit: str | None) -> str:
    """``dtscope_<script>_<aggregation>[_<base unit>]`` (``_total`` is added for counters
    by the client library). The anonymous aggregation ``@`` is named after its function."""
    agg = sanitize_name(aggregation) or function
    name = f"dtscope_{sanitize_name(script) or 'script'}_{agg}"
    name = name.removesuffix("_total")
    _, suffix = unit_of(unit)
    if suffix and not name.endswith("_" + suffix):
        name += "_" + suffix
    return name


def kind_of(function: str) -> str:
    if function in COUNTER_FUNCTIONS:
        return "counter"
    if function in HISTOGRAM_FUNCTIONS:
        return "histogram"
    return "gauge"


def bucket_upper_bound(bucket: Bucket) -> float:
    """The ``le`` bound (in the tracer's unit) of a ``[lo, hi)`` bucket.

    Tracer values are integers, so ``v < hi`` is ``v <= hi - 1``: a quantize bucket
    [4, 8) has ``le`` 7, never 4 (ebpf_exporter's off-by-one, issue #488) and not 8
    either (8 itself falls in the next bucket). An open top is ``+Inf``.
    """
    if bucket.hi is None:
        return math.inf
    if isinstance(bucket.hi, int):
        return bucket.hi - 1
    return float(bucket.hi)


def bucket_midpoint(bucket: Bucket) -> float:
    """A representative value for the ``_sum`` estimate (quantize keeps no sum)."""
    if bucket.lo is None and bucket.hi is None:
        return 0.0
    if bucket.lo is None:
        return bucket_upper_bound(bucket)
    if bucket.hi is None:
        return float(bucket.lo)
    return (bucket.lo + bucket_upper_bound(bucket)) / 2


def format_label_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- state


@dataclass
class _Histogram:
    counts: dict[float, int] = field(default_factory=dict)  # le bound (tracer unit) -> count
    estimated_sum: float = 0.0  # tracer unit
    count: int = 0


@dataclass
class MetricState:
    """One aggregation of one script, with its series."""

    name: str
    kind: str  # counter | gauge | histogram
    function: str
    aggregation: str
    labels: list[str]
    divisor: float
    help: str
    series: dict[tuple[str, ...], Any] = field(default_factory=dict)
    bounds: set[float] = field(default_factory=set)  # histogram: every le bound seen
    sorted_bounds: list[float] = field(default_factory=list)
    # key -> (rendered labels "{a=\"x\"}", labels before "le", labels after "le"),
    # formatted once per series rather than once per scrape
    label_text: dict[tuple[str, ...], tuple[str, str, str]] = field(default_factory=dict)


class ScriptMetrics:
    """Accumulated metrics and health of one script, fed by its supervisor thread.

    ``apply()`` and ``collect()`` may run in different threads. ``lock`` guards the
    data (held while a snapshot is folded in or rendered); ``health_lock`` guards the
    health fields, so that a scrape reading them never waits for a render.
    ``version`` changes whenever the data part of the exposition does.
    """

    def __init__(
        self,
        script: str,
        *,
        units: dict[str, str] | None = None,
        aggregations: dict[str, AggInfo] | None = None,
        series_limit: int = DEFAULT_SERIES_LIMIT,
        clock=time.monotonic,
    ):
        self.script = script
        self.units = dict(units or {})
        self.infos: dict[str, AggInfo] = dict(aggregations or {})
        self.series_limit = series_limit
        self.clock = clock
        self.lock = threading.Lock()
        self.health_lock = threading.Lock()
        self.metrics: dict[str, MetricState] = {}  # by aggregation name
        self.version = 0
        # health
        self.up = False
        self.restarts = 0
        self.snapshots = 0
        self.tracer_errors = 0
        self.drops: dict[str, int] = {}
        self.series_dropped: dict[str, int] = {}  # by metric name
        self._dropped_now: dict[str, int] = {}  # during one apply(), under ``lock``
        self.started_at = clock()
        self.last_snapshot_at: float | None = None
        self.last_error: str | None = None

    # ------------------------------------------------------------------ ingest

    def apply(self, snapshot: Snapshot) -> None:
        """Fold one interval's snapshot into the accumulated state."""
        with self.lock:
            self.infos.update(snapshot.aggregations)
            rows_by_agg = snapshot.by_aggregation()
            for metric in self.metrics.values():
                if metric.kind == "gauge":
                    metric.series = {}  # gauges hold the last interval only
                    metric.label_text = {}
            for aggregation, rows in rows_by_agg.items():
                metric = self._metric_for(aggregation, rows[0])
                if metric.kind == "histogram":
                    for row in rows:
                        self._apply_row(metric, row)
                else:
                    self._apply_scalars(metric, rows)
            self.version += 1
        with self.health_lock:
            for kind, count in snapshot.drops.items():
                self.drops[kind] = self.drops.get(kind, 0) + int(count)
            for name, count in self._dropped_now.items():
                self.series_dropped[name] = self.series_dropped.get(name, 0) + count
            self._dropped_now = {}
            self.tracer_errors += len(snapshot.errors)
            self.snapshots += 1
            self.last_snapshot_at = self.clock()

    def _metric_for(self, aggregation: str, first: AggRow) -> MetricState | None:
        metric = self.metrics.get(aggregation)
        if metric is not None:
            return metric
        info = self.infos.get(aggregation)
        unit = (info.unit if info else None) or self.units.get(aggregation)
        function = first.function
        if function == "count":
            unit = None  # a count of events has no unit, whatever the probe measures
        divisor, _ = unit_of(unit)
        name = metric_name(self.script, aggregation, function, unit)
        taken = {m.name for m in self.metrics.values()}
        if name in taken:  # @a_total and @a, say: keep both, apart
            name = f"{name}_{sanitize_name(function)}"
        labels = label_names(info.key_names if info else [], len(first.keys))
        shown = "@" + aggregation
        help_text = f"{function}() of {shown} in dtscope script {self.script}"
        if unit:
            help_text += f" (tracer unit {unit})"
        metric = MetricState(
            name=name,
            kind=kind_of(function),
            function=function,
            aggregation=aggregation,
            labels=labels,
            divisor=divisor,
            help=help_text,
        )
        self.metrics[aggregation] = metric
        return metric

    def _apply_scalars(self, metric: MetricState, rows: list[AggRow]) -> None:
        """Counters and gauges: the hot loop of a 10,000-series snapshot, kept tight."""
        series = metric.series
        width = len(metric.labels)
        limit = self.series_limit
        accumulate = metric.kind == "counter"
        for row in rows:
            keys = row.keys
            if len(keys) != width:
                self._drop(metric)
                continue
            key = tuple([k if type(k) is str else format_label_value(k) for k in keys])
            current = series.get(key)
            if current is None:
                if len(series) >= limit:
                    self._drop(metric)
                    continue
                series[key] = row.value
            else:
                series[key] = current + row.value if accumulate else row.value

    def _apply_row(self, metric: MetricState, row: AggRow) -> None:
        if len(row.keys) != len(metric.labels):
            self._drop(metric)
            return
        key = tuple(format_label_value(k) for k in row.keys)
        current = metric.series.get(key)
        if current is None and len(metric.series) >= self.series_limit:
            self._drop(metric)
            return
        if metric.kind == "counter":
            metric.series[key] = (current or 0) + row.value
        elif metric.kind == "gauge":
            metric.series[key] = row.value
        else:
            hist = current if current is not None else _Histogram()
            for bucket in row.buckets or ():
                if not bucket.count:
                    continue
                bound = bucket_upper_bound(bucket)
                hist.counts[bound] = hist.counts.get(bound, 0) + bucket.count
                hist.estimated_sum += bucket.count * bucket_midpoint(bucket)
                hist.count += bucket.count
                if bound != math.inf and bound not in metric.bounds:
                    metric.bounds.add(bound)
                    metric.sorted_bounds = sorted(metric.bounds)
            metric.series[key] = hist

    def _drop(self, metric: MetricState) -> None:
        self._dropped_now[metric.name] = self._dropped_now.get(metric.name, 0) + 1

    # ------------------------------------------------------------------ health

    def set_up(self, up: bool) -> None:
        with self.health_lock:
            self.up = up

    def note_restart(self, error: str | None) -> None:
        with self.health_lock:
            self.restarts += 1
            self.last_error = error

    def snapshot_age(self) -> float:
        since = self.last_snapshot_at if self.last_snapshot_at is not None else self.started_at
        return max(0.0, self.clock() - since)

    # ------------------------------------------------------------------ families

    def families(self) -> list[Metric]:
        """Fresh metric families for the accumulated data of this script."""
        with self.lock:
            return [self._family(metric) for metric in self.metrics.values()]

    def _family(self, metric: MetricState) -> Metric:
        divisor = metric.divisor
        if metric.kind == "counter":
            family = CounterMetricFamily(metric.name, metric.help, labels=metric.labels)
            for key, value in metric.series.items():
                family.add_metric(key, value / divisor)
            return family
        if metric.kind == "gauge":
            family = GaugeMetricFamily(metric.name, metric.help, labels=metric.labels)
            for key, value in metric.series.items():
                family.add_metric(key, value / divisor)
            return family
        family = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
        les = [floatToGoString(bound / divisor) for bound in metric.sorted_bounds]
        for key, hist in metric.series.items():
            buckets = []
            running = 0
            for bound, le in zip(metric.sorted_bounds, les):
                running += hist.counts.get(bound, 0)
                buckets.append((le, running))
            buckets.append(("+Inf", hist.count))
            family.add_metric(key, buckets, hist.estimated_sum / divisor)
        return family

    # ------------------------------------------------------------------ text

    def render_text(self) -> str:
        """The data part of the exposition, in the classic text format.

        Byte for byte what ``generate_latest`` makes of :meth:`families` (a test holds
        it to that), but about 20 times faster: label sets are formatted once per
        series, not once per scrape, which is what keeps 10,000 series cheap.
        """
        with self.lock:
            return "".join([self._render(metric) for metric in self.metrics.values()])

    @staticmethod
    def _labels(metric: MetricState, key: tuple[str, ...]) -> tuple[str, str, str]:
        cached = metric.label_text.get(key)
        if cached is None:
            pairs = sorted(zip(metric.labels, key))
            parts = [f'{name}="{escape_label_value(value)}"' for name, value in pairs]
            full = "{" + ",".join(parts) + "}" if parts else ""
            before = "".join(part + "," for (name, _), part in zip(pairs, parts) if name < "le")
            after = "".join("," + part for (name, _), part in zip(pairs, parts) if name > "le")
            cached = metric.label_text[key] = (full, before, after)
        return cached

    def _render(self, metric: MetricState) -> str:
        number = _number
        divisor = metric.divisor
        exposed = metric.name + "_total" if metric.kind == "counter" else metric.name
        help_text = metric.help.replace("\\", r"\\").replace("\n", r"\n")
        out = [f"# HELP {exposed} {help_text}\n# TYPE {exposed} {metric.kind}\n"]
        labels = self._labels
        if metric.kind != "histogram":
            label_text = metric.label_text
            for key, value in metric.series.items():
                text = label_text.get(key) or labels(metric, key)
                out.append(
                    f"{exposed}{text[0]} {number(value / divisor if divisor != 1 else value)}\n"
                )
            return "".join(out)
        bounds = metric.sorted_bounds
        les = [number(bound / divisor) for bound in bounds]
        # as the client library: no _sum/_count when a bucket bound is negative
        with_sum = not bounds or bounds[0] >= 0
        for key, hist in metric.series.items():
            full, before, after = labels(metric, key)
            running = 0
            for bound, le in zip(bounds, les):
                running += hist.counts.get(bound, 0)
                out.append(f'{exposed}_bucket{{{before}le="{le}"{after}}} {number(running)}\n')
            out.append(f'{exposed}_bucket{{{before}le="+Inf"{after}}} {number(hist.count)}\n')
            if with_sum:
                out.append(f"{exposed}_count{full} {number(hist.count)}\n")
                out.append(f"{exposed}_sum{full} {number(hist.estimated_sum / divisor)}\n")
        return "".join(out)


def _number(value: float) -> str:
    """floatToGoString, with a shortcut for the small integers most counters hold."""
    if type(value) is int and -1_000_000 < value < 1_000_000:
        return f"{value}.0"
    return floatToGoString(value)


def escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class ScriptCollector(Collector):
    """The data metrics of one script, built afresh on each ``collect()``."""

    def __init__(self, metrics: ScriptMetrics):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics.families()


class HealthCollector(Collector):
    """dtscope's own metrics: tracer health, drops, series limits, freshness."""

    def __init__(self, scripts: Iterable[ScriptMetrics]):
        self.scripts = list(scripts)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "dtscope_up", "1 while the script's tracer runs and delivers data", labels=["script"]
        )
        restarts = CounterMetricFamily(
            "dtscope_tracer_restarts", "times the script's tracer was restarted", labels=["script"]
        )
        drops = CounterMetricFamily(
            "dtscope_drops",
            "data the tracer reported as dropped, by kind",
            labels=["script", "kind"],
        )
        errors = CounterMetricFamily(
            "dtscope_tracer_errors", "errors the tracer reported", labels=["script"]
        )
        snapshots = CounterMetricFamily(
            "dtscope_snapshots", "snapshots received from the tracer", labels=["script"]
        )
        age = GaugeMetricFamily(
            "dtscope_snapshot_age_seconds",
            "seconds since the last snapshot arrived (since start if none yet)",
            labels=["script"],
        )
        dropped = CounterMetricFamily(
            "dtscope_series_dropped",
            "rows not exported because their metric reached the series limit",
            labels=["script", "metric"],
        )
        for s in self.scripts:
            with s.health_lock:
                up.add_metric([s.script], 1.0 if s.up else 0.0)
                restarts.add_metric([s.script], s.restarts)
                errors.add_metric([s.script], s.tracer_errors)
                snapshots.add_metric([s.script], s.snapshots)
                for kind, count in sorted(s.drops.items()):
                    drops.add_metric([s.script, kind], count)
                for metric, count in sorted(s.series_dropped.items()):
                    dropped.add_metric([s.script, metric], count)
            age.add_metric([s.script], s.snapshot_age())
        yield from (up, restarts, drops, errors, snapshots, age, dropped)


# --------------------------------------------------------------------------- exposition


class PortableProcessCollector(Collector):
    """``process_*`` metrics where /proc is not Linux's (SmartOS above all).

    The client library's ProcessCollector reads /proc/self/stat and silently yields
    nothing elsewhere; this covers the same names from portable calls.
    """

    def __init__(self, start_time: float | None = None):
        self.start_time = start_time if start_time is not None else _IMPORTED_AT

    def collect(self) -> Iterator[Metric]:
        times = os.times()
        yield CounterMetricFamily(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            value=times.user + times.system,
        )
        yield GaugeMetricFamily(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            value=self.start_time,
        )
        try:
            import resource

            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            usage = resource.getrusage(resource.RUSAGE_SELF)
        except (ImportError, OSError, ValueError):
            return
        if soft != resource.RLIM_INFINITY:
            yield GaugeMetricFamily(
                "process_max_fds", "Maximum number of open file descriptors.", value=soft
            )
        for fd_dir in ("/proc/self/fd", "/dev/fd"):
            try:
                count = len(os.listdir(fd_dir))
            except OSError:
                continue
            yield GaugeMetricFamily(
                "process_open_fds", "Number of open file descriptors.", value=count
            )
            break
        # ru_maxrss: kilobytes on Linux, illumos and the BSDs, bytes on macOS
        scale = 1 if sys.platform == "darwin" else 1024
        if usage.ru_maxrss:
            yield GaugeMetricFamily(
                "process_max_resident_memory_bytes",
                "Largest resident set size of the process in bytes.",
                value=usage.ru_maxrss * scale,
            )


# No portable call tells when a process started; `dtscope export` imports this module
# within a second of its start, which is close enough for process_start_time_seconds.
_IMPORTED_AT = time.time()


@dataclass
class _CompressedPrefix:
    """The data parts of every script, deflated and flushed to a byte boundary, with
    the compressor's state, so that the health part can be appended per scrape."""

    versions: tuple[int, ...]
    deflated: bytes
    compressor: Any  # zlib.Compress after Z_SYNC_FLUSH
    crc: int
    length: int


# gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


class Exposition:
    """The text served on ``/metrics``.

    A script's data part only changes when a snapshot arrives (once per interval), so
    it is rendered (and compressed) once per change and reused by every scrape in
    between; the supervisor does it right after a snapshot (:meth:`refresh`), so
    scrapes do not pay for it. Health and process metrics are small and rendered on
    every scrape.
    """

    # Every name we emit is a classic one ([a-zA-Z_:][a-zA-Z0-9_:]*), so the classic text
    # format, which every Prometheus since 2.0 reads, says exactly what the body is.
    CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self, scripts: Iterable[ScriptMetrics], *, process_metrics: bool = True):
        self.scripts = list(scripts)
        self._registries = {}
        self._cache: dict[str, tuple[int, bytes]] = {}
        self._render_locks = {s.script: threading.Lock() for s in self.scripts}
        self._prefix: _CompressedPrefix | None = None
        self._prefix_lock = threading.Lock()
        for s in self.scripts:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(ScriptCollector(s))
            self._registries[s.script] = registry
        self.health = CollectorRegistry(auto_describe=False)
        self.health.register(HealthCollector(self.scripts))
        if process_metrics:
            if os.path.exists("/proc/self/stat"):  # Linux: the client library's reader
                ProcessCollector(registry=self.health)
            else:  # illumos, BSD, macOS: no Linux-format /proc
                self.health.register(PortableProcessCollector())
            PlatformCollector(registry=self.health)
            GCCollector(registry=self.health)

    @staticmethod
    def _fresh_or_busy(lock: threading.Lock, have_old: bool) -> bool:
        """Take ``lock`` to rebuild something; False when it is being rebuilt right now
        and an old copy exists (a moment-old body beats waiting for the new one)."""
        if have_old:
            return lock.acquire(blocking=False)
        lock.acquire()
        return True

    def data(self, script: ScriptMetrics) -> tuple[int, bytes]:
        """(version, text) of one script's data part, rendered at most once per version."""
        cached = self._cache.get(script.script)
        if cached is not None and cached[0] == script.version:
            return cached
        lock = self._render_locks[script.script]
        if not self._fresh_or_busy(lock, cached is not None):
            return cached
        try:
            cached = self._cache.get(script.script)
            version = script.version
            if cached is None or cached[0] != version:
                cached = (version, script.render_text().encode())
                self._cache[script.script] = cached
            return cached
        finally:
            lock.release()

    def refresh(self, script: ScriptMetrics) -> None:
        """Render and compress after a snapshot (the supervisor's ``on_snapshot``)."""
        self.data(script)
        self._compressed_prefix([self.data(s) for s in self.scripts])

    def _compressed_prefix(self, parts: list[tuple[int, bytes]]) -> _CompressedPrefix:
        versions = tuple(version for version, _ in parts)
        prefix = self._prefix
        if prefix is not None and prefix.versions == versions:
            return prefix
        if not self._fresh_or_busy(self._prefix_lock, prefix is not None):
            return prefix
        try:
            prefix = self._prefix
            if prefix is None or prefix.versions != versions:
                compressor = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate
                deflated, crc, length = [], 0, 0
                for _, text in parts:
                    deflated.append(compressor.compress(text))
                    crc = zlib.crc32(text, crc)
                    length += len(text)
                deflated.append(compressor.flush(zlib.Z_SYNC_FLUSH))
                prefix = _CompressedPrefix(versions, b"".join(deflated), compressor, crc, length)
                self._prefix = prefix
            return prefix
        finally:
            self._prefix_lock.release()

    def render(self, compressed: bool = False) -> bytes:
        """The whole exposition, plain or as one gzip member.

        Compressed, the data parts come from a cached deflate stream flushed to a byte
        boundary; a copy of its compressor deflates this scrape's health part after it,
        and the gzip trailer combines the CRCs. One ordinary gzip member, so every reader
        (Prometheus, curl --compressed, browsers) sees the whole body.
        """
        parts = [self.data(s) for s in self.scripts]
        health = generate_latest(self.health)
        if not compressed:
            return b"".join([text for _, text in parts] + [health])
        prefix = self._compressed_prefix(parts)
        compressor = prefix.compressor.copy()
        tail = compressor.compress(health) + compressor.flush(zlib.Z_FINISH)
        crc = zlib.crc32(health, prefix.crc)
        size = (prefix.length + len(health)) & 0xFFFFFFFF
        return b"".join((_GZIP_HEADER, prefix.deflated, tail, struct.pack("<II", crc, size)))
