"""What `dtscope top` knows: snapshots turned into table rows, plus a fixed window of history.

The state is plain Python (no Textual) so it can be tested and benchmarked alone.

* Each snapshot normally covers one interval (``Snapshot.interval`` seconds): a row's
  rate is its count (or sum) divided by that interval, and its percentiles come from
  that interval's buckets (see :mod:`dtscope.tui.estimate`), so the table shows what
  is happening now. ``count`` is the total since the view started.
  A snapshot with ``interval=None`` holds the whole run so far: the difference from
  the previous one is used instead.
* History is a fixed window of the last ``history`` snapshots (bounded memory whatever
  the run length). Per snapshot and aggregation it keeps, in compact numpy arrays, each
  present key's rate and its non-empty buckets: enough to draw the sparkline and the
  heat map of any row, or of any group of rows, after the fact.
* Keys that were idle for the whole window are forgotten.
* Regrouping by a subset of the key columns merges rows: counts, sums and buckets add
  up, min/max take the min/max; avg/stddev cannot be merged exactly without the
  underlying counts, so a merged row shows the mean of its members' values.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from dtscope.collectors.model import HISTOGRAM_FUNCTIONS, AggInfo, AggRow, Bucket, Snapshot, key_column_names

from .estimate import sorted_buckets, summarize

DEFAULT_HISTORY = 120  # snapshots: two minutes at the default 1 s interval
RATE_FUNCTIONS = ("count", "sum") + HISTOGRAM_FUNCTIONS
ZONE_KEY_NAMES = ("zonename", "zone", "cgroup", "container", "cgroup_path", "container_id")


@dataclass(slots=True)
class ViewRow:
    """One line of the table: a key (or a group of keys) with its figures."""

    keys: tuple[Any, ...]
    members: tuple[int, ...]  # key ids merged into this row
    rate: float | None = None  # per second over the last interval
    count: float | None = None  # total since the view started (count, sum, histograms)
    value: float | None = None  # last value for avg/min/max/stddev
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None
    buckets: list[Bucket] = field(default_factory=list)  # last interval, in value order

    def key_text(self) -> str:
        return " ".join(str(k) for k in self.keys)


@dataclass(frozen=True)
class Column:
    title: str
    attribute: str  # a ViewRow attribute, or "key" for a key column
    key_index: int = -1
    numeric: bool = True

    def sort_value(self, row: ViewRow) -> Any:
        if self.attribute == "key":
            key = row.keys[self.key_index] if self.key_index < len(row.keys) else ""
            return (0, key) if isinstance(key, (int, float)) else (1, str(key))
        value = getattr(row, self.attribute)
        return -math.inf if value is None else value


@dataclass
class _Current:
    """One key's figures for the latest interval (rows absent from it are idle)."""

    rate: float | None
    value: float | None
    buckets: list[Bucket] | None
    summary: tuple[float | None, float | None, float | None, float | None]


@dataclass
class HistorySlice:
    key_ids: np.ndarray  # int64, keys present in this snapshot
    rates: np.ndarray  # float64, their rate (or value for avg/min/max/stddev)
    cell_keys: np.ndarray  # int64, one entry per non-empty bucket of a present key
    cell_buckets: np.ndarray  # int32, bucket id (see AggState.bucket_bounds)
    cell_counts: np.ndarray  # int64


@dataclass
class HistoryEntry:
    number: int
    time: _dt.datetime
    interval: float | None
    slices: dict[str, HistorySlice]


class AggState:
    """One aggregation: its keys (as small integer ids), totals and latest interval."""

    def __init__(self, name: str, function: str, info: AggInfo | None):
        self.name = name
        self.function = function
        self.unit = info.unit if info else None
        self.key_names: list[str] = list(info.key_names) if info else []
        self.key_kinds: list[str] = list(info.key_kinds) if info else []
        self.width = len(self.key_names)
        self._ids: dict[tuple[Any, ...], int] = {}
        self.keys: dict[int, tuple[Any, ...]] = {}
        self.totals: dict[int, float] = {}
        self.last_seen: dict[int, int] = {}
        self.current: dict[int, _Current] = {}
        self._bucket_ids: dict[tuple[int | None, int | None], int] = {}
        self.bucket_bounds: list[tuple[int | None, int | None]] = []
        self._previous_cumulative: dict[int, AggRow] = {}
        self._last_id = 0  # ids are never reused, so history arrays stay valid after forget()

    @property
    def is_histogram(self) -> bool:
        return self.function in HISTOGRAM_FUNCTIONS

    @property
    def has_rate(self) -> bool:
        return self.function in RATE_FUNCTIONS

    def key_id(self, keys: tuple[Any, ...]) -> int:
        found = self._ids.get(keys)
        if found is None:
            self._last_id += 1
            found = self._last_id
            self._ids[keys] = found
            self.keys[found] = keys
            self.width = max(self.width, len(keys))
        return found

    def bucket_id(self, bucket: Bucket) -> int:
        bounds = (bucket.lo, bucket.hi)
        found = self._bucket_ids.get(bounds)
        if found is None:
            found = len(self.bucket_bounds)
            self._bucket_ids[bounds] = found
            self.bucket_bounds.append(bounds)
        return found

    def forget(self, key_id: int) -> None:
        keys = self.keys.pop(key_id)
        self._ids.pop(keys, None)
        self.totals.pop(key_id, None)
        self.last_seen.pop(key_id, None)
        self.current.pop(key_id, None)
        self._previous_cumulative.pop(key_id, None)

    def column_names(self) -> list[str]:
        return key_column_names(self.key_names, self.width)

    def zone_column(self) -> int | None:
        """The key column that names a zone (or, on Linux, a cgroup/container), if any."""
        for index, name in enumerate(self.column_names()):
            kind = self.key_kinds[index] if index < len(self.key_kinds) else ""
            if kind == "cgroup" or name.lower() in ZONE_KEY_NAMES or "zone" in name.lower():
                return index
        return None


class TopState:
    """Everything the view shows, fed one snapshot at a time."""

    def __init__(self, history: int = DEFAULT_HISTORY):
        if history < 1:
            raise ValueError("history must hold at least one snapshot")
        self.history_size = history
        self.aggregations: dict[str, AggState] = {}
        self.history: deque[HistoryEntry] = deque(maxlen=history)
        self.snapshots = 0
        self.last_time: _dt.datetime | None = None
        self.last_interval: float | None = None
        self.drops: dict[str, int] = {}
        self.errors = 0
        self.recent_errors: deque[str] = deque(maxlen=20)
        self.tracer_state = "starting"
        self._previous_time: _dt.datetime | None = None

    # ------------------------------------------------------------------ ingest

    def ingest(self, snap: Snapshot) -> None:
        self.snapshots += 1
        number = self.snapshots
        cumulative = snap.interval is None
        interval = snap.interval
        if cumulative and self._previous_time is not None:
            interval = (snap.time - self._previous_time).total_seconds() or None
        self._previous_time = snap.time
        self.last_time = snap.time
        self.last_interval = interval
        for kind, count in snap.drops.items():
            self.drops[kind] = self.drops.get(kind, 0) + int(count)
        self.errors += len(snap.errors)
        self.recent_errors.extend(snap.errors)
        self.tracer_state = snap.tracer_state
        if not snap.rows and snap.tracer_state != "running":
            return  # the tracer's last words (exit or failure): keep the last data on screen

        slices: dict[str, HistorySlice] = {}
        for name, rows in snap.by_aggregation().items():
            agg = self._aggregation(name, rows[0].function, snap.aggregations.get(name))
            slices[name] = self._ingest_rows(agg, rows, interval, cumulative, number)
        for name, agg in self.aggregations.items():
            if name not in slices:
                agg.current.clear()
        self.history.append(HistoryEntry(number, snap.time, interval, slices))
        self._forget_idle_keys(number)

    def _aggregation(self, name: str, function: str, info: AggInfo | None) -> AggState:
        agg = self.aggregations.get(name)
        if agg is None:
            agg = self.aggregations[name] = AggState(name, function, info)
        elif info is not None and not agg.key_names and info.key_names:
            agg.key_names = list(info.key_names)
            agg.unit = agg.unit or info.unit
        return agg

    def _ingest_rows(
        self, agg: AggState, rows: list[AggRow], interval: float | None, cumulative: bool, number: int
    ) -> HistorySlice:
        agg.current = {}
        key_ids: list[int] = []
        rates: list[float] = []
        cell_keys: list[int] = []
        cell_buckets: list[int] = []
        cell_counts: list[int] = []
        has_rate = agg.has_rate
        for row in rows:
            key_id = agg.key_id(tuple(row.keys))
            if cumulative:
                previous = agg._previous_cumulative.get(key_id)
                agg._previous_cumulative[key_id] = row
                row = _difference(row, previous)
            agg.last_seen[key_id] = number
            buckets = sorted_buckets(row.buckets) if row.buckets is not None else None
            value = float(row.value)
            if has_rate:
                agg.totals[key_id] = agg.totals.get(key_id, 0.0) + value
                rate = value / interval if interval else None
            else:
                rate = None
            summary = summarize(buckets) if buckets is not None else (None, None, None, None)
            agg.current[key_id] = _Current(rate, value, buckets, summary)
            key_ids.append(key_id)
            rates.append(rate if rate is not None else (value if not has_rate else math.nan))
            if buckets:
                for bucket in buckets:
                    if bucket.count:
                        cell_keys.append(key_id)
                        cell_buckets.append(agg.bucket_id(bucket))
                        cell_counts.append(bucket.count)
        return HistorySlice(
            np.asarray(key_ids, dtype=np.int64),
            np.asarray(rates, dtype=np.float64),
            np.asarray(cell_keys, dtype=np.int64),
            np.asarray(cell_buckets, dtype=np.int32),
            np.asarray(cell_counts, dtype=np.int64),
        )

    def _forget_idle_keys(self, number: int) -> None:
        oldest = number - self.history_size
        for agg in self.aggregations.values():
            idle = [key_id for key_id, seen in agg.last_seen.items() if seen <= oldest]
            for key_id in idle:
                agg.forget(key_id)

    # ------------------------------------------------------------------ rows

    def columns(self, name: str, group_by: Sequence[int] | None = None) -> list[Column]:
        agg = self.aggregations[name]
        names = agg.column_names()
        indexes = list(range(agg.width)) if group_by is None else list(group_by)
        # key_index is the position in the row's keys, which for a grouped row is the group's.
        columns = [Column(names[i], "key", pos, numeric=False) for pos, i in enumerate(indexes)]
        if agg.is_histogram:
            columns += [Column(t, a) for t, a in _HISTOGRAM_COLUMNS]
        elif agg.has_rate:
            columns += [Column("rate/s", "rate"), Column("count" if agg.function == "count" else "total", "count")]
        else:
            columns += [Column(agg.function, "value")]
        return columns

    def rows(
        self,
        name: str,
        group_by: Sequence[int] | None = None,
        text: str = "",
        zone: str | None = None,
    ) -> list[ViewRow]:
        """The rows of aggregation ``name``: zone filter, regroup, then text filter."""
        agg = self.aggregations.get(name)
        if agg is None:
            return []
        zone_index = agg.zone_column() if zone is not None else None
        singles: list[ViewRow] = []
        for key_id, keys in agg.keys.items():
            if zone is not None and (zone_index is None or str(_key_at(keys, zone_index)) != zone):
                continue
            singles.append(self._single_row(agg, key_id, keys))
        rows = singles if group_by is None else _regroup(agg, singles, list(group_by))
        if text:
            needle = text.lower()
            rows = [row for row in rows if needle in row.key_text().lower()]
        return rows

    def _single_row(self, agg: AggState, key_id: int, keys: tuple[Any, ...]) -> ViewRow:
        current = agg.current.get(key_id)
        row = ViewRow(keys, (key_id,), count=agg.totals.get(key_id))
        if current is None:  # idle in the last interval
            row.rate = 0.0 if agg.has_rate and self.last_interval else None
            return row
        row.rate = current.rate
        row.value = current.value
        if current.buckets is not None:
            row.buckets = current.buckets
            row.p50, row.p90, row.p99, row.max = current.summary
        return row

    def zones(self, name: str) -> list[str]:
        agg = self.aggregations.get(name)
        index = agg.zone_column() if agg else None
        if agg is None or index is None:
            return []
        return sorted({str(_key_at(keys, index)) for keys in agg.keys.values()})

    # ------------------------------------------------------------------ history

    def rate_series(self, name: str, members: Iterable[int]) -> list[float]:
        """The rate (or value) of a row over the history window, one number per snapshot."""
        wanted = np.asarray(sorted(members), dtype=np.int64)
        agg = self.aggregations.get(name)
        merge_values = agg is not None and not agg.has_rate
        series: list[float] = []
        for entry in self.history:
            piece = entry.slices.get(name)
            if piece is None or len(piece.key_ids) == 0:
                series.append(0.0)
                continue
            mask = _member_mask(piece.key_ids, wanted)
            values = piece.rates[mask]
            values = values[~np.isnan(values)]
            if len(values) == 0:
                series.append(0.0)
            elif merge_values:
                series.append(float(values.mean()))
            else:
                series.append(float(values.sum()))
        return series

    def heat(self, name: str, members: Iterable[int]) -> tuple[list[tuple[int | None, int | None]], np.ndarray]:
        """Bucket bounds (value order) and a (snapshots x buckets) matrix of counts."""
        agg = self.aggregations.get(name)
        if agg is None or not agg.is_histogram:
            return [], np.zeros((0, 0), dtype=np.int64)
        wanted = np.asarray(sorted(members), dtype=np.int64)
        matrix = np.zeros((len(self.history), len(agg.bucket_bounds)), dtype=np.int64)
        for column, entry in enumerate(self.history):
            piece = entry.slices.get(name)
            if piece is None or len(piece.cell_keys) == 0:
                continue
            mask = _member_mask(piece.cell_keys, wanted)
            np.add.at(matrix[column], piece.cell_buckets[mask], piece.cell_counts[mask])
        used = np.flatnonzero(matrix.sum(axis=0))
        order = sorted(used, key=lambda i: _bound_order(agg.bucket_bounds[i]))
        return [agg.bucket_bounds[i] for i in order], matrix[:, order]


_HISTOGRAM_COLUMNS = (
    ("rate/s", "rate"),
    ("count", "count"),
    ("p50", "p50"),
    ("p90", "p90"),
    ("p99", "p99"),
    ("max", "max"),
)


def sort_rows(rows: list[ViewRow], column: Column, descending: bool) -> list[ViewRow]:
    return sorted(rows, key=column.sort_value, reverse=descending)


def worst_rows(rows: Sequence[ViewRow], is_histogram: bool, how_many: int = 3) -> set[int]:
    """Indexes (into ``rows``) of the rows to highlight: highest p99, or highest rate/value."""
    def badness(row: ViewRow) -> float:
        value = row.p99 if is_histogram else (row.rate if row.rate is not None else row.value)
        return -math.inf if value is None else value

    ranked = sorted(range(len(rows)), key=lambda i: badness(rows[i]), reverse=True)
    return {i for i in ranked[:how_many] if badness(rows[i]) > -math.inf and badness(rows[i]) > 0}


def _regroup(agg: AggState, singles: list[ViewRow], group_by: list[int]) -> list[ViewRow]:
    groups: dict[tuple[Any, ...], list[ViewRow]] = {}
    for row in singles:
        groups.setdefault(tuple(_key_at(row.keys, i) for i in group_by), []).append(row)
    merged: list[ViewRow] = []
    for keys, members in groups.items():
        row = ViewRow(keys, tuple(k for m in members for k in m.members))
        if agg.has_rate:
            rates = [m.rate for m in members if m.rate is not None]
            row.rate = sum(rates) if rates else None
            counts = [m.count for m in members if m.count is not None]
            row.count = sum(counts) if counts else None
        else:
            values = [m.value for m in members if m.value is not None]
            if values:
                combine = {"min": min, "max": max}.get(agg.function)
                row.value = combine(values) if combine else sum(values) / len(values)
        if agg.is_histogram:
            row.buckets = merge_buckets(m.buckets for m in members)
            row.p50, row.p90, row.p99, row.max = summarize(row.buckets)
        merged.append(row)
    return merged


def merge_buckets(bucket_lists: Iterable[Sequence[Bucket]]) -> list[Bucket]:
    counts: dict[tuple[int | None, int | None], int] = {}
    for buckets in bucket_lists:
        for bucket in buckets:
            bounds = (bucket.lo, bucket.hi)
            counts[bounds] = counts.get(bounds, 0) + bucket.count
    return sorted_buckets(Bucket(lo, hi, count) for (lo, hi), count in counts.items())


def _difference(row: AggRow, previous: AggRow | None) -> AggRow:
    """This cumulative row minus the previous cumulative row of the same key."""
    if previous is None or row.function not in RATE_FUNCTIONS:
        return row
    buckets = None
    if row.buckets is not None:
        before = {(b.lo, b.hi): b.count for b in previous.buckets or ()}
        buckets = [Bucket(b.lo, b.hi, b.count - before.get((b.lo, b.hi), 0)) for b in row.buckets]
    return AggRow(row.aggregation, row.function, row.keys, row.value - previous.value, buckets)


def _key_at(keys: tuple[Any, ...], index: int) -> Any:
    return keys[index] if index < len(keys) else ""


def _member_mask(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    if len(wanted) == 1:
        return ids == wanted[0]
    return np.isin(ids, wanted)


def _bound_order(bounds: tuple[int | None, int | None]) -> float:
    lo, _ = bounds
    return -math.inf if lo is None else lo
