"""What `dtscope top` knows: snapshots turned into table rows, plus a fixed window of history.

The state is plain Python and numpy (no Textual), so it can be tested and benchmarked alone.

* Each snapshot normally covers one interval (``Snapshot.interval`` seconds): a row's
  rate is its count (or sum) divided by that interval, and its percentiles come from
  that interval's buckets (see :mod:`dtscope.tui.estimate`), so the table shows what
  is happening now. ``count`` is the total since the view started.
  A snapshot with ``interval=None`` holds the whole run so far: the difference from
  the previous one is used instead.
* Figures are kept as numpy columns (one entry per key), so a snapshot of 10,000 keys
  costs a few array operations rather than 10,000 Python objects; a :class:`ViewRow`
  is made only for the rows on screen.
* History is a fixed window of the last ``history`` snapshots (bounded memory whatever
  the run length). Per snapshot and aggregation it keeps each present key's rate and
  its non-empty buckets in compact arrays: enough to draw the sparkline and the heat
  map of any row, or of any group of rows, after the fact.
* A key idle for ``idle_limit`` snapshots leaves the table (processes come and go).
* Regrouping by a subset of the key columns merges rows: counts, sums and buckets add
  up, min/max take the min/max; avg/stddev cannot be merged exactly without the
  underlying counts, so a merged row shows the mean of its members' values.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from dtscope.collectors.model import (
    AggInfo,
    AggRow,
    Bucket,
    Snapshot,
    key_column_names,
)
from dtscope.dscript.aggregations import HISTOGRAM_FUNCTIONS

from .estimate import summarize_cells

DEFAULT_HISTORY = 120  # snapshots: two minutes at the default 1 s interval
DEFAULT_IDLE_LIMIT = 10  # snapshots without data before a key leaves the table
RATE_FUNCTIONS = ("count", "sum") + HISTOGRAM_FUNCTIONS
ZONE_KEY_NAMES = ("zonename", "zone", "cgroup", "container", "cgroup_path", "container_id")
FIGURES = ("rate", "count", "value", "p50", "p90", "p99", "max")
_EMPTY_INT = np.zeros(0, dtype=np.int64)


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
    key_index: int = -1  # position in the row's keys (for a grouped row, in the group's)
    numeric: bool = True


@dataclass
class HistorySlice:
    key_ids: np.ndarray  # int32, keys present in this snapshot
    rates: np.ndarray  # float32, their rate (or value for avg/min/max/stddev)
    cell_keys: np.ndarray  # int32, one entry per non-empty bucket of a present key
    cell_buckets: np.ndarray  # int16, bucket id (see AggState.bucket_bounds)
    cell_counts: np.ndarray  # int64


@dataclass
class HistoryEntry:
    number: int
    time: _dt.datetime
    interval: float | None
    slices: dict[str, HistorySlice]


@dataclass
class Cells:
    """Non-empty buckets of many rows: row position, bucket id, count (sorted by row, value)."""

    rows: np.ndarray
    buckets: np.ndarray
    counts: np.ndarray

    @classmethod
    def empty(cls) -> Cells:
        return cls(_EMPTY_INT, _EMPTY_INT, _EMPTY_INT)


class AggState:
    """One aggregation: its keys (as small integer ids), totals and latest interval.

    ``ids`` (sorted) lists the keys on the table; every per-key array is aligned with it.
    """

    def __init__(self, name: str, function: str, info: AggInfo | None):
        self.name = name
        self.function = function
        self.unit = info.unit if info else None
        self.key_names: list[str] = list(info.key_names) if info else []
        self.key_kinds: list[str] = list(info.key_kinds) if info else []
        self.width = len(self.key_names)
        self._ids: dict[tuple[Any, ...], int] = {}
        self.keys: dict[int, tuple[Any, ...]] = {}
        self._last_id = 0  # ids are never reused, so history arrays stay valid after a key leaves
        self.ids = _EMPTY_INT
        self.last_seen = _EMPTY_INT
        self.figures: dict[str, np.ndarray] = {name: np.zeros(0) for name in FIGURES}
        self.cells = Cells.empty()  # rows are positions in ``ids``
        self._bucket_ids: dict[tuple[float, float], int] = {}
        self.bucket_bounds: list[tuple[int | None, int | None]] = []
        self.bucket_lo = np.zeros(0)  # by bucket id; -inf for an open low end
        self.bucket_hi = np.zeros(0)  # inf for an open high end
        self._previous_cumulative: dict[int, AggRow] = {}

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
            found = self._ids[keys] = self._last_id
            self.keys[found] = keys
            self.width = max(self.width, len(keys))
        return found

    def bucket_ids(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Stable small ids for bucket bounds (the heat map's rows)."""
        if len(lo) == 0:
            return _EMPTY_INT
        # np.unique over (lo, hi) pairs sorts rows slowly; two 1-D uniques and one more are fast.
        lo_values, lo_index = np.unique(lo, return_inverse=True)
        hi_values, hi_index = np.unique(hi, return_inverse=True)
        pair_codes, inverse = np.unique(lo_index.reshape(-1) * len(hi_values) + hi_index.reshape(-1), return_inverse=True)
        mapped = np.empty(len(pair_codes), dtype=np.int64)
        for index, code in enumerate(pair_codes.tolist()):
            low, high = float(lo_values[code // len(hi_values)]), float(hi_values[code % len(hi_values)])
            found = self._bucket_ids.get((low, high))
            if found is None:
                found = self._bucket_ids[(low, high)] = len(self.bucket_bounds)
                self.bucket_bounds.append((None if math.isinf(low) else int(low), None if math.isinf(high) else int(high)))
                self.bucket_lo = np.append(self.bucket_lo, low)
                self.bucket_hi = np.append(self.bucket_hi, high)
            mapped[index] = found
        return mapped[inverse.reshape(-1)]

    def column_names(self) -> list[str]:
        return key_column_names(self.key_names, self.width)

    def zone_column(self) -> int | None:
        """The key column that names a zone (or, on Linux, a cgroup/container), if any."""
        for index, name in enumerate(self.column_names()):
            kind = self.key_kinds[index] if index < len(self.key_kinds) else ""
            if kind == "cgroup" or name.lower() in ZONE_KEY_NAMES or "zone" in name.lower():
                return index
        return None

    def buckets_of(self, cells: Cells, row: int) -> list[Bucket]:
        mask = cells.rows == row
        return [
            Bucket(*self.bucket_bounds[b], int(c)) for b, c in zip(cells.buckets[mask].tolist(), cells.counts[mask].tolist())
        ]


class TopState:
    """Everything the view shows, fed one snapshot at a time."""

    def __init__(self, history: int = DEFAULT_HISTORY, idle_limit: int = DEFAULT_IDLE_LIMIT):
        if history < 1 or idle_limit < 1:
            raise ValueError("history and idle_limit must be at least one snapshot")
        self.history_size = history
        self.idle_limit = idle_limit
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
        for kind, count in snap.drops.items():
            self.drops[kind] = self.drops.get(kind, 0) + int(count)
        self.errors += len(snap.errors)
        self.recent_errors.extend(snap.errors)
        self.tracer_state = snap.tracer_state
        if not snap.rows and snap.tracer_state != "running":
            return  # the tracer's last words (exit or failure): keep the last data on screen
        self.snapshots += 1
        number = self.snapshots
        cumulative = snap.interval is None
        interval = snap.interval
        if cumulative and self._previous_time is not None:
            interval = (snap.time - self._previous_time).total_seconds() or None
        self._previous_time = snap.time
        self.last_time = snap.time
        self.last_interval = interval

        slices: dict[str, HistorySlice] = {}
        grouped = snap.by_aggregation()
        for name, rows in grouped.items():
            agg = self._aggregation(name, rows[0].function, snap.aggregations.get(name))
            slices[name] = _ingest_rows(agg, rows, interval, cumulative, number, self.idle_limit)
        for name, agg in self.aggregations.items():
            if name not in grouped:
                _ingest_rows(agg, [], interval, cumulative, number, self.idle_limit)
        self.history.append(HistoryEntry(number, snap.time, interval, slices))

    def _aggregation(self, name: str, function: str, info: AggInfo | None) -> AggState:
        agg = self.aggregations.get(name)
        if agg is None:
            agg = self.aggregations[name] = AggState(name, function, info)
        elif info is not None and not agg.key_names and info.key_names:
            agg.key_names = list(info.key_names)
            agg.unit = agg.unit or info.unit
        return agg

    # ------------------------------------------------------------------ the table

    def columns(self, name: str, group_by: Sequence[int] | None = None) -> list[Column]:
        agg = self.aggregations[name]
        names = agg.column_names()
        indexes = list(range(agg.width)) if group_by is None else list(group_by)
        columns = [Column(names[i], "key", pos, numeric=False) for pos, i in enumerate(indexes)]
        if agg.is_histogram:
            columns += [Column(t, a) for t, a in _HISTOGRAM_COLUMNS]
        elif agg.has_rate:
            columns += [Column("rate/s", "rate"), Column("count" if agg.function == "count" else "total", "count")]
        else:
            columns += [Column(agg.function, "value")]
        return columns

    def view(
        self,
        name: str,
        group_by: Sequence[int] | None = None,
        text: str = "",
        zone: str | None = None,
        sort: str | None = None,
        descending: bool = True,
    ) -> TableView:
        """The table of aggregation ``name``: zone filter, regroup, text filter, sort."""
        agg = self.aggregations.get(name)
        if agg is None:
            return TableView.empty()
        columns = self.columns(name, group_by)
        keys = [agg.keys[i] for i in agg.ids.tolist()]
        positions = np.arange(len(keys))
        if zone is not None:
            zone_index = agg.zone_column()
            chosen = [i for i, k in enumerate(keys) if zone_index is not None and str(_key_at(k, zone_index)) == zone]
            positions = np.asarray(chosen, dtype=np.int64)
            keys = [keys[i] for i in chosen]
        figures = {f: agg.figures[f][positions] for f in FIGURES}
        members: Any = agg.ids[positions]  # one key per row until regrouped
        cells = _select_cells(agg.cells, positions, len(agg.ids))
        if group_by is not None:
            keys, figures, members, cells = _regroup(agg, keys, figures, agg.ids[positions], cells, list(group_by))
        if text:
            before = len(keys)
            needle = text.lower()
            chosen = [i for i, k in enumerate(keys) if needle in " ".join(str(x) for x in k).lower()]
            index = np.asarray(chosen, dtype=np.int64)
            keys = [keys[i] for i in chosen]
            figures = {f: v[index] for f, v in figures.items()}
            members = members[index] if isinstance(members, np.ndarray) else [members[i] for i in chosen]
            cells = _select_cells(cells, index, before)
        order = _order(columns, keys, figures, sort, descending)
        return TableView(agg, columns, keys, figures, members, cells, order)

    def zones(self, name: str) -> list[str]:
        agg = self.aggregations.get(name)
        index = agg.zone_column() if agg else None
        if agg is None or index is None:
            return []
        return sorted({str(_key_at(agg.keys[i], index)) for i in agg.ids.tolist()})

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
            values = piece.rates[_member_mask(piece.key_ids, wanted)]
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
        order = sorted(used.tolist(), key=lambda i: agg.bucket_lo[i])
        return [agg.bucket_bounds[i] for i in order], matrix[:, order]


class TableView:
    """The rows of one aggregation as shown: columns in display order, rows made on demand."""

    def __init__(self, agg, columns, keys, figures, members, cells, order):
        self.agg: AggState | None = agg
        self.columns: list[Column] = columns
        self._keys = keys
        self._figures = figures
        self._members = members
        self._cells: Cells = cells
        self.order: np.ndarray = order  # display position -> row position

    @classmethod
    def empty(cls) -> TableView:
        return cls(None, [], [], {f: np.zeros(0) for f in FIGURES}, _EMPTY_INT, Cells.empty(), _EMPTY_INT)

    def __len__(self) -> int:
        return len(self.order)

    def keys(self, index: int) -> tuple[Any, ...]:
        return self._keys[int(self.order[index])]

    def row(self, index: int, with_buckets: bool = True) -> ViewRow:
        position = int(self.order[index])
        members = self._members[position]
        row = ViewRow(self._keys[position], (int(members),) if np.ndim(members) == 0 else tuple(members.tolist()))
        for figure in FIGURES:
            value = float(self._figures[figure][position])
            setattr(row, figure, None if math.isnan(value) else value)
        if with_buckets and self.agg is not None and self.agg.is_histogram:
            row.buckets = self.agg.buckets_of(self._cells, position)
        return row

    def rows(self) -> list[ViewRow]:
        return [self.row(i) for i in range(len(self))]

    def index_of(self, keys: tuple[Any, ...]) -> int | None:
        for index, position in enumerate(self.order.tolist()):
            if self._keys[position] == keys:
                return index
        return None

    def worst(self, how_many: int = 3) -> set[int]:
        """Display indexes of the rows to highlight: highest p99, or highest rate/value."""
        if self.agg is None or not len(self.order):
            return set()
        figure = "p99" if self.agg.is_histogram else ("rate" if self.agg.has_rate else "value")
        values = np.nan_to_num(self._figures[figure][self.order], nan=-np.inf)
        ranked = np.argsort(-values, kind="stable")[:how_many]
        return {int(i) for i in ranked if values[i] > 0}


_HISTOGRAM_COLUMNS = (
    ("rate/s", "rate"),
    ("count", "count"),
    ("p50", "p50"),
    ("p90", "p90"),
    ("p99", "p99"),
    ("max", "max"),
)


# --------------------------------------------------------------------------- ingest internals


def _ingest_rows(
    agg: AggState, rows: list[AggRow], interval: float | None, cumulative: bool, number: int, idle_limit: int
) -> HistorySlice:
    has_rate = agg.has_rate
    key_ids: list[int] = []
    values: list[float] = []
    for row in rows:
        key_id = agg.key_id(tuple(row.keys))
        key_ids.append(key_id)
        values.append(row.value)
    if cumulative:
        originals = rows
        rows = [_difference(row, agg._previous_cumulative.get(k)) for row, k in zip(originals, key_ids)]
        agg._previous_cumulative.update(zip(key_ids, originals))
        values = [row.value for row in rows]
    inf = math.inf
    cells = [(p, b) for p, row in enumerate(rows) if row.buckets for b in row.buckets if b.count]
    cell_rows = [p for p, _ in cells]
    cell_lo = [-inf if b.lo is None else b.lo for _, b in cells]
    cell_hi = [inf if b.hi is None else b.hi for _, b in cells]
    cell_counts = [b.count for _, b in cells]

    present = np.asarray(key_ids, dtype=np.int64)
    value = np.asarray(values, dtype=np.float64)
    rows_of_cells = np.asarray(cell_rows, dtype=np.int64)
    lo = np.asarray(cell_lo, dtype=np.float64)
    hi = np.asarray(cell_hi, dtype=np.float64)
    counts = np.asarray(cell_counts, dtype=np.int64)
    if len(lo) > 1 and np.any((np.diff(rows_of_cells) == 0) & (np.diff(lo) < 0)):
        order = np.lexsort((lo, rows_of_cells))  # backends usually send buckets in order already
        rows_of_cells, lo, hi, counts = rows_of_cells[order], lo[order], hi[order], counts[order]
    bucket_ids = agg.bucket_ids(lo, hi)

    # The table: keys seen in the last ``idle_limit`` snapshots, sorted by id.
    merged = np.union1d(agg.ids, present)
    last_seen = np.zeros(len(merged), dtype=np.int64)
    if len(agg.ids):
        last_seen[np.searchsorted(merged, agg.ids)] = agg.last_seen
    present_at = np.searchsorted(merged, present)
    last_seen[present_at] = number
    keep = last_seen > number - idle_limit
    for gone in merged[~keep].tolist():
        agg._ids.pop(agg.keys.pop(gone), None)
        agg._previous_cumulative.pop(gone, None)
    old_totals = np.zeros(len(merged))
    if len(agg.ids):
        old_totals[np.searchsorted(merged, agg.ids)] = agg.figures["count"]
    if has_rate:
        np.add.at(old_totals, present_at, value)

    figures = {f: np.full(len(merged), np.nan) for f in FIGURES}
    figures["count"] = old_totals if has_rate else figures["count"]
    if has_rate:
        if interval:
            figures["rate"][:] = 0.0  # idle keys: nothing happened in the last interval
            figures["rate"][present_at] = value / interval
    else:
        figures["value"][present_at] = value
    if agg.is_histogram:
        summary = summarize_cells(rows_of_cells, lo, hi, counts, len(rows))
        for k, figure in enumerate(("p50", "p90", "p99", "max")):
            figures[figure][present_at] = summary[k]

    # Keep only what stays on the table, re-indexed to its positions.
    kept_positions = np.cumsum(keep) - 1
    agg.ids = merged[keep]
    agg.last_seen = last_seen[keep]
    agg.figures = {f: v[keep] for f, v in figures.items()}
    agg.cells = Cells(kept_positions[present_at[rows_of_cells]] if len(rows_of_cells) else _EMPTY_INT, bucket_ids, counts)

    rates = value / interval if (has_rate and interval) else (value if not has_rate else np.full(len(value), np.nan))
    # Compact types: the window holds these for every key of the last ``history`` snapshots.
    return HistorySlice(
        present.astype(np.int32),
        rates.astype(np.float32),
        (present[rows_of_cells] if len(rows_of_cells) else _EMPTY_INT).astype(np.int32),
        bucket_ids.astype(np.int16 if len(agg.bucket_bounds) < 2**15 else np.int32),
        counts.astype(np.int64),
    )


def _difference(row: AggRow, previous: AggRow | None) -> AggRow:
    """This cumulative row minus the previous cumulative row of the same key."""
    if previous is None or row.function not in RATE_FUNCTIONS:
        return row
    buckets = None
    if row.buckets is not None:
        before = {(b.lo, b.hi): b.count for b in previous.buckets or ()}
        buckets = [Bucket(b.lo, b.hi, b.count - before.get((b.lo, b.hi), 0)) for b in row.buckets]
    return AggRow(row.aggregation, row.function, row.keys, row.value - previous.value, buckets)


# --------------------------------------------------------------------------- view internals


def _select_cells(cells: Cells, positions: np.ndarray, row_count: int) -> Cells:
    """The cells of the rows at ``positions``, renumbered to 0..len(positions)-1."""
    if len(cells.rows) == 0:
        return cells
    if len(positions) == row_count and np.array_equal(positions, np.arange(row_count)):
        return cells
    new_index = np.full(row_count, -1, dtype=np.int64)
    new_index[positions] = np.arange(len(positions))
    mapped = new_index[cells.rows]
    keep = mapped >= 0
    return Cells(mapped[keep], cells.buckets[keep], cells.counts[keep])


def _regroup(agg: AggState, keys, figures, ids: np.ndarray, cells: Cells, group_by: list[int]):
    group_of: dict[tuple[Any, ...], int] = {}
    group_keys: list[tuple[Any, ...]] = []
    assignment = np.empty(len(keys), dtype=np.int64)
    for position, key in enumerate(keys):
        group_key = tuple(_key_at(key, i) for i in group_by)
        index = group_of.get(group_key)
        if index is None:
            index = group_of[group_key] = len(group_keys)
            group_keys.append(group_key)
        assignment[position] = index
    n = len(group_keys)
    merged = {f: np.full(n, np.nan) for f in FIGURES}
    for figure in ("rate", "count"):
        values = figures[figure]
        present = ~np.isnan(values)
        if present.any():
            sums = np.bincount(assignment[present], weights=values[present], minlength=n)
            seen = np.bincount(assignment[present], minlength=n) > 0
            merged[figure] = np.where(seen, sums, np.nan)
    values = figures["value"]
    present = ~np.isnan(values)
    if present.any():
        if agg.function in ("min", "max"):
            fill = np.inf if agg.function == "min" else -np.inf
            result = np.full(n, fill)
            (np.minimum if agg.function == "min" else np.maximum).at(result, assignment[present], values[present])
            merged["value"] = np.where(np.isinf(result), np.nan, result)
        else:
            sums = np.bincount(assignment[present], weights=values[present], minlength=n)
            seen = np.bincount(assignment[present], minlength=n)
            merged["value"] = np.where(seen > 0, sums / np.maximum(seen, 1), np.nan)
    order = np.argsort(assignment, kind="stable")
    boundaries = np.searchsorted(assignment[order], np.arange(n + 1))
    members = [ids[order[boundaries[g] : boundaries[g + 1]]] for g in range(n)]
    group_cells = Cells.empty()
    if agg.is_histogram and len(cells.rows):
        nb = max(1, len(agg.bucket_bounds))
        combined = assignment[cells.rows] * nb + cells.buckets
        unique, inverse = np.unique(combined, return_inverse=True)
        totals = np.bincount(inverse.reshape(-1), weights=cells.counts, minlength=len(unique)).astype(np.int64)
        rows_of, buckets_of = unique // nb, unique % nb
        lo = agg.bucket_lo[buckets_of]
        order_cells = np.lexsort((lo, rows_of))
        group_cells = Cells(rows_of[order_cells], buckets_of[order_cells], totals[order_cells])
        summary = summarize_cells(
            group_cells.rows, agg.bucket_lo[group_cells.buckets], agg.bucket_hi[group_cells.buckets], group_cells.counts, n
        )
        for k, figure in enumerate(("p50", "p90", "p99", "max")):
            merged[figure] = summary[k]
    return group_keys, merged, members, group_cells


def _order(columns: list[Column], keys, figures, sort: str | None, descending: bool) -> np.ndarray:
    count = len(keys)
    column = next((c for c in columns if c.title == sort), None)
    if column is None or count == 0:
        return np.arange(count)
    if column.attribute == "key":
        def sort_key(i: int):
            key = _key_at(keys[i], column.key_index)
            return (0, key, "") if isinstance(key, (int, float)) else (1, 0, str(key))

        ordered = sorted(range(count), key=sort_key, reverse=descending)
        return np.asarray(ordered, dtype=np.int64)
    values = np.nan_to_num(figures[column.attribute], nan=-np.inf)
    return np.argsort(-values if descending else values, kind="stable")


def _key_at(keys: tuple[Any, ...], index: int) -> Any:
    return keys[index] if index < len(keys) else ""


def _member_mask(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    if len(wanted) == 1:
        return ids == wanted[0]
    return np.isin(ids, wanted)
