"""bpftrace's output as snapshots: the maps a lowered program prints, read back as DTrace's aggregations.

:class:`SnapshotAssembler` is pure: it is fed the records of ``bpftrace -f json``
(:func:`.bpftrace_output.parse_line`) and returns a snapshot at each snapshot marker. What
the maps hold and how (companion maps, negated values, shifted lquantize edges, the
llquantize index, running totals) is the lowering's contract, written once in
:mod:`dtscope.dscript.bpftrace.maps`. Here:

* map JSON keys are the key values joined with ",": they are split knowing each key's kind
  (``int``/``cgroup``/``syscall`` keys are digits; ``stack``/``ustack`` keys are ``""`` or
  ``"\\n"`` + frame lines that each start with spaces, so a stack ends at the first newline
  followed by "," or the end; ``str`` keys take what is left). One string key is always
  exact; two or more are exact unless commas inside them make several splits possible,
  and then the commas go to the later keys and the snapshot's ``errors`` says how many keys
  of which aggregation were ambiguous;
* with an interval, a running total's snapshot is its difference from the previous print,
  key by key (keys that did not change are left out); the other maps are taken as printed.
  bpftrace prints every map again when it exits: that tail is the final snapshot (the
  totals of the run when there is no interval). Running totals keep every key of the run:
  BPFTRACE_MAP_KEYS_MAX bounds them, and a map that reaches it is named in the snapshot's
  errors (bpftrace adds no more keys);
* a program's ``printa()`` output (between the printa markers) is text, not snapshot data;
  a bare ``print(@x)`` without the markers is taken as data, and a later print of the same
  map replaces it.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from dtscope.dscript.aggregations import AggInfo, c_division, dtrace_stddev, llquantize_bounds
from dtscope.dscript.bpftrace.maps import (
    QUANTIZE_COMPANIONS,
        BpftraceFraming,
    MapInfo,
    aggregations_of_maps,
    companion_bucket,
    sum_of_squares,
)

from .bpftrace_output import parse_line
from .cgroups import cgroup_path
from .model import AggRow, Bucket, Snapshot
from .output import format_rows
from .syscalls import syscall_name

PLAIN_SCALARS = frozenset(("count", "sum", "min", "max", "avg"))
NUMERIC_KINDS = ("int", "cgroup", "syscall")
STACK_KINDS = ("stack", "ustack")
_INTEGER = re.compile(r"-?\d+")
# Parsed keys kept per map; cleared when a map churns through more distinct keys than this.
KEY_CACHE_LIMIT = 200_000


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


# --------------------------------------------------------------------------- keys


def _numeric_end(text: str, pos: int) -> int | None:
    end = pos + 1 if pos < len(text) and text[pos] == "-" else pos
    start = end
    while end < len(text) and text[end].isdigit():
        end += 1
    return end if end > start else None


def _stack_end(text: str, pos: int) -> int:
    """End of a stack key that starts at ``pos`` (stacks are "" or "\\n" + frame lines)."""
    if not text.startswith("\n", pos):
        return pos  # empty stack
    i = pos + 1
    while True:
        newline = text.find("\n", i)
        if newline < 0:
            return len(text)  # malformed: take the rest
        after = newline + 1
        if after == len(text) or text[after] == ",":
            return after
        i = after


def _candidate_ends(text: str, pos: int, kind: str, last: bool) -> list[int]:
    if kind in NUMERIC_KINDS:
        end = _numeric_end(text, pos)
        return [] if end is None else [end]
    if kind in STACK_KINDS:
        return [_stack_end(text, pos)]
    if last:
        return [len(text)]
    ends = []
    comma = text.find(",", pos)
    while comma >= 0:
        ends.append(comma)
        comma = text.find(",", comma + 1)
    return ends


def split_key(text: str, kinds: Sequence[str] | None) -> tuple[list[str], bool]:
    """Split a bpftrace map key into one piece per key; also say whether it was ambiguous.

    With ``kinds`` (the lowering's key kinds) the split is exact where it can be; raises
    ValueError when no split fits the kinds. Without them (a map of a program dtscope did
    not lower) a piece that starts with a newline is a stack and any other piece ends at
    the next comma (a space after it is skipped: bpftrace's text output writes ", ").
    """
    if kinds is None:
        return _split_untyped(text), False
    arity = len(kinds)
    if arity <= 1:
        return [text], False
    if all(kind in NUMERIC_KINDS for kind in kinds):
        parts = text.split(",")
        if len(parts) == arity and all(_INTEGER.fullmatch(p) for p in parts):
            return parts, False
    solutions: list[list[str]] = []

    def walk(pos: int, index: int, pieces: list[str]) -> None:
        last = index == arity - 1
        for end in _candidate_ends(text, pos, kinds[index], last):
            if len(solutions) >= 2:
                return
            piece = text[pos:end]
            if last:
                if end == len(text):
                    solutions.append(pieces + [piece])
            elif end < len(text) and text[end] == ",":
                walk(end + 1, index + 1, pieces + [piece])

    walk(0, 0, [])
    if not solutions:
        raise ValueError(f"key {text!r} does not fit kinds {list(kinds)}")
    return solutions[0], len(solutions) > 1


_STACK_BLOCK = re.compile(r"\n((?:[ \t]+[^\n]*\n)*)")


def _split_untyped(text: str) -> list[str]:
    pieces: list[str] = []
    pos, n = 0, len(text)
    while True:
        if pos < n and text[pos] == "\n":
            match = _STACK_BLOCK.match(text, pos)
            assert match is not None  # the pattern matches any "\n"
            pieces.append(match.group(0))
            pos = match.end()
        else:
            comma = text.find(",", pos)
            end = n if comma < 0 else comma
            pieces.append(text[pos:end])
            pos = end
        if pos >= n:
            return pieces
        if text[pos] == ",":
            pos += 1
            if pos < n and text[pos] == " ":
                pos += 1
        else:
            pos += 1  # stray text after a stack block: skip it


def stack_frames(piece: str) -> str:
    """bpftrace's "\\n    f1\\n    f2\\n" -> "f1\\nf2" (innermost frame first)."""
    return "\n".join(line.strip() for line in piece.split("\n") if line.strip())


def convert_key(piece: str, kind: str) -> Any:
    if kind == "int":
        return int(piece)
    if kind == "syscall":
        return syscall_name(int(piece))
    if kind == "cgroup":
        return cgroup_path(int(piece))
    if kind in STACK_KINDS:
        return stack_frames(piece)
    return piece


# --------------------------------------------------------------------------- buckets


def _shifted(bucket: Bucket, offset: int) -> Bucket:
    return Bucket(
        None if bucket.lo is None else bucket.lo + offset,
        None if bucket.hi is None else bucket.hi + offset,
        bucket.count,
    )


def _bucket_from_entry(entry: dict[str, Any]) -> Bucket:
    lo = entry.get("min")
    hi = entry.get("max")
    return Bucket(lo, None if hi is None else hi + 1, int(entry.get("count", 0)))


def hist_buckets(entries: list[dict[str, Any]], function: str, params: Sequence[int] = ()) -> list[Bucket]:
    """bpftrace hist/lhist entries ({min, max, count}, inclusive) -> ``[lo, hi)`` buckets."""
    if function == "llquantize" and len(params) == 4:
        bounds = llquantize_bounds(*params)
        counts = [0] * len(bounds)
        for entry in entries:
            index = entry.get("min")
            index = 0 if index is None else min(int(index), len(bounds) - 1)
            counts[index] += int(entry.get("count", 0))
        return [Bucket(lo, hi, c) for (lo, hi), c in zip(bounds, counts) if c]
    return [_bucket_from_entry(entry) for entry in entries]


def companion_buckets(role: str, entries: list[dict[str, Any]]) -> list[Bucket]:
    """Buckets of a quantize companion map (negated and/or shifted values) in DTrace's terms."""
    out = []
    for entry in entries:
        low, high = entry.get("min"), entry.get("max")
        if low is None or high is None:
            continue  # open-ended buckets stay empty: companions hold non-negative values
        lo, hi = companion_bucket(role, int(low), int(high))
        out.append(Bucket(lo, hi, int(entry.get("count", 0))))
    return out


def _bucket_order(bucket: Bucket) -> float:
    return -math.inf if bucket.lo is None else bucket.lo


# --------------------------------------------------------------------------- assembling


def value_delta(value: Any, before: Any) -> Any:
    """One key's change between two prints of a running total; None when nothing changed.

    Integers (count, sum, lhist-free maps) subtract; ``stats()`` dicts subtract count and
    total (the average is recomputed); hist/lhist bucket lists subtract bucket by bucket.
    """
    if before is None:
        if isinstance(value, int):
            return value or None
        if isinstance(value, dict):
            return value if value.get("count") else None
        if isinstance(value, list):
            return value if any(e.get("count") for e in value if isinstance(e, dict)) else None
        return value
    if isinstance(value, int) and isinstance(before, int):
        return (value - before) or None
    if isinstance(value, dict) and isinstance(before, dict):
        count = int(value.get("count", 0)) - int(before.get("count", 0))
        if count == 0:
            return None
        total = int(value.get("total", 0)) - int(before.get("total", 0))
        return {"count": count, "average": c_division(total, count) if count > 0 else 0, "total": total}
    if isinstance(value, list) and isinstance(before, list):
        earlier = {(e.get("min"), e.get("max")): e.get("count", 0) for e in before if isinstance(e, dict)}
        changed = []
        for entry in value:
            if not isinstance(entry, dict):
                continue
            count = entry.get("count", 0) - earlier.get((entry.get("min"), entry.get("max")), 0)
            if count:
                changed.append({**entry, "count": count})
        return changed or None
    return value


def map_delta(data: Any, before: Any, keyed: bool) -> Any:
    """A running-total map's change since ``before`` (its previous print); None if none."""
    if not keyed:
        return value_delta(data, before)
    if not isinstance(data, dict):
        return data
    earlier = before if isinstance(before, dict) else {}
    if not earlier:
        changed = {key: value for key, value in data.items() if value_delta(value, None) is not None}
        return changed
    if all(type(v) is int for v in data.values()):  # count/sum: the common, hot case
        get = earlier.get
        return {key: value - get(key, 0) for key, value in data.items() if value != get(key, 0)}
    changed = {}
    for key, value in data.items():
        delta = value_delta(value, earlier.get(key))
        if delta is not None:
            changed[key] = delta
    return changed



class SnapshotAssembler:
    """Feed it bpftrace ``-f json`` lines; it returns a snapshot at each marker.

    ``framing``: the lowering's maps and markers (a :class:`~dtscope.dscript.bpftrace.maps.
    BpftraceFraming`, or a dict of MapInfo for hand-written programs). ``on_output``
    receives printf()/trace() text a line at a time.
    """

    def __init__(
        self,
        framing: BpftraceFraming | dict[str, MapInfo],
        aggregations: dict[str, AggInfo] | None = None,
        interval: float | None = None,
        on_output: Callable[[str], None] | None = None,
    ):
        if not isinstance(framing, BpftraceFraming):
            framing = BpftraceFraming(maps=dict(framing))
        self.framing = framing
        self.maps = framing.maps
        self.aggregations = aggregations if aggregations is not None else aggregations_of_maps(self.maps)
        self.interval = interval
        self.on_output = on_output
        self.seq = 0
        self.attached_probes: int | None = None
        self._pending: dict[str, Any] = {}  # bt name -> data of its latest print
        self._drops: dict[str, int] = {}
        self._errors: list[str] = []
        self._output_buffer = ""
        self._last_marker = time.monotonic()
        self._key_cache: dict[tuple[str, tuple[str, ...]], dict[str, tuple]] = {}
        self._printa: dict[str, Any] | None = None  # maps printed between printa markers
        # Running totals (MapInfo.cumulative) as last printed: what the next print is
        # measured against. Only kept with an interval: without one, a print is the total.
        self._baseline: dict[str, Any] = {}
        self.map_keys_max: int | None = None  # BPFTRACE_MAP_KEYS_MAX of the run, when known
        self._full_maps: set[str] = set()

    # -- input

    def feed(self, line: str) -> Snapshot | None:
        """Read one line of bpftrace's output; the snapshot it completes, if any."""
        record = parse_line(line)
        if record is None:
            return None
        kind, data = record
        if kind == "map":
            (self._printa if self._printa is not None else self._pending).update(data)
        elif kind == "printf":
            if data == self.framing.snapshot_marker + "\n":
                return self.snapshot()
            if data == self.framing.printa_begin + "\n":
                self._printa = {}
            elif data == self.framing.printa_end + "\n":
                self._render_printa()
            else:
                self._emit_text(data)
        elif kind == "lost_events":
            self._drops["lost_events"] = self._drops.get("lost_events", 0) + data
        elif kind == "attached_probes":
            self.attached_probes = data
        else:  # "text": print()/time()/join()/system() output, lines that are not JSON
            self._emit_text(data)
        return None

    def _render_printa(self) -> None:
        """The maps printed by the program's own printa(): text on the output, not data."""
        printed, self._printa = self._printa or {}, None
        rows, errors = self.build_rows(self._interval_data(printed))
        self._errors.extend(errors)
        by_aggregation: dict[str, list[AggRow]] = {}
        for row in rows:
            by_aggregation.setdefault(row.aggregation, []).append(row)
        for aggregation_rows in by_aggregation.values():
            self._emit_text("\n" + "".join(line + "\n" for line in format_rows(aggregation_rows)))

    def add_error(self, message: str) -> None:
        self._errors.append(message)

    def add_drops(self, kind: str, count: int) -> None:
        self._drops[kind] = self._drops.get(kind, 0) + count

    def _emit_text(self, text: str) -> None:
        self._output_buffer += text
        while "\n" in self._output_buffer:
            line, self._output_buffer = self._output_buffer.split("\n", 1)
            self._write_output(line)

    def _write_output(self, line: str) -> None:
        if self.on_output is not None:
            self.on_output(line)
        else:
            print(line, flush=True)

    # -- output

    def snapshot(self, *, final: bool = False, tracer_state: str = "running") -> Snapshot:
        now = time.monotonic()
        elapsed, self._last_marker = now - self._last_marker, now
        errors = self._check_map_sizes(self._pending)
        rows, row_errors = self.build_rows(self._interval_data(self._pending))
        errors += row_errors
        if self.interval is not None:
            for bt_name, data in self._pending.items():
                if (info := self.maps.get(bt_name)) is not None and info.cumulative:
                    self._baseline[bt_name] = data
        interval: float | None = self.interval
        if final:
            if self._output_buffer:
                self._write_output(self._output_buffer)
                self._output_buffer = ""
            if self.interval is not None:
                interval = round(elapsed, 3)
                # bpftrace's exit print shows maps the last interval cleared as 0: not data.
                # (Running totals already left out the keys that did not change.)
                cumulative = {
                    info.aggregation for info in self.maps.values() if info.cumulative
                }
                rows = [r for r in rows if r.value != 0 or r.aggregation in cumulative]
        snap = Snapshot(
            time=_utcnow(),
            rows=rows,
            seq=self.seq,
            interval=interval,
            drops=self._drops,
            errors=self._errors + errors,
            tracer_state=tracer_state,
            final=final,
            aggregations=self.aggregations,
        )
        self.seq += 1
        self._pending, self._drops, self._errors = {}, {}, []
        return snap

    def _interval_data(self, printed: dict[str, Any]) -> dict[str, Any]:
        """The printed maps with every running total replaced by its change since the last snapshot."""
        if not self._baseline:
            return printed  # no interval yet (or none at all): prints are what they say
        data: dict[str, Any] = {}
        for bt_name, value in printed.items():
            info = self.maps.get(bt_name)
            if info is None or not info.cumulative:
                data[bt_name] = value
                continue
            keyed = bool(info.key_kinds)
            delta = map_delta(value, self._baseline.get(bt_name), keyed)
            if delta is not None:
                data[bt_name] = delta
        return data

    def _check_map_sizes(self, printed: dict[str, Any]) -> list[str]:
        """Name (once) every map that reached BPFTRACE_MAP_KEYS_MAX: bpftrace adds no keys past it."""
        limit = self.map_keys_max
        if not limit:
            return []
        errors = []
        for bt_name, data in printed.items():
            info = self.maps.get(bt_name)
            if info is None or bt_name in self._full_maps or not isinstance(data, dict):
                continue
            if info.key_kinds and len(data) >= limit:
                self._full_maps.add(bt_name)
                errors.append(
                    f"@{info.aggregation} reached {limit} keys, bpftrace's limit: new keys are not "
                    "counted (raise it with -x map_keys_max=N)"
                )
        return errors

    def build_rows(self, printed: dict[str, Any]) -> tuple[list[AggRow], list[str]]:
        rows: dict[tuple[str, tuple], AggRow] = {}
        plain_rows: list[AggRow] = []  # aggregations without companions need no lookup by key
        companions: list[tuple[Any, Any]] = []
        ambiguous: dict[str, int] = {}
        errors: list[str] = []
        stats: dict[tuple[str, tuple], dict] = {}  # stddev: count, total, limbs of the squares
        with_companions = {
            info.aggregation for info in self.maps.values() if info.role != "main"
        }
        for bt_name, data in printed.items():
            info = self.maps.get(bt_name)
            if info is None:
                continue  # internal (@__*) or not an aggregation of the program
            role = info.role
            if role != "main":
                companions.append((info, data))
                continue
            aggregation, function = info.aggregation, info.function
            plain = function in PLAIN_SCALARS and not info.negated
            if plain and aggregation not in with_companions and isinstance(data, dict):
                fast = self._plain_rows_from_cache(info, data)
                if fast is not None:
                    plain_rows.extend(fast)
                    continue
            entries = self._entries(info, data, ambiguous, errors)
            if aggregation not in with_companions:
                if plain:
                    plain_rows.extend(
                        AggRow(aggregation, function, keys, value)
                        if type(value) is int
                        else self._row(info, keys, value, stats)
                        for keys, value in entries
                    )
                else:
                    plain_rows.extend(self._row(info, keys, value, stats) for keys, value in entries)
                continue
            for keys, value in entries:
                rows[(aggregation, keys)] = self._row(info, keys, value, stats)
        for info, data in companions:
            for keys, value in self._entries(info, data, ambiguous, errors):
                self._merge_companion(rows, stats, info, keys, value)
        if stats:
            self._finish_stddev(rows, stats)
        for name, count in ambiguous.items():
            errors.append(
                f"@{name}: {count} key(s) with commas in more than one string key could be "
                "split more than one way; the commas went to the later keys"
            )
        return plain_rows + list(rows.values()), errors

    def _plain_rows_from_cache(self, info: MapInfo, data: dict) -> list[AggRow] | None:
        """Rows of a count/sum/... map whose keys were all seen before; None to take the slow path.

        The steady state of a long run: the same keys every interval, integer values.
        """
        kinds = tuple(info.key_kinds)
        cache = self._key_cache.get((info.bt_name, kinds)) if kinds else None
        if not cache:
            return None
        try:
            parsed = [cache[text] for text in data]
        except KeyError:
            return None
        values = list(data.values())
        if any(p[1] for p in parsed) or not all(type(v) is int for v in values):
            return None
        aggregation, function = info.aggregation, info.function
        return [AggRow(aggregation, function, p[0], v) for p, v in zip(parsed, values)]

    def _entries(self, info: MapInfo, data: MapInfo, ambiguous: dict[str, int], errors: list[str]):
        kinds = tuple(info.key_kinds)
        if not kinds:
            yield (), data
            return
        if not isinstance(data, dict):
            errors.append(f"@{info.aggregation}: expected keyed data from bpftrace, got {type(data).__name__}")
            return
        # Keys come back every interval: parse each distinct key text once.
        cache = self._key_cache.setdefault((info.bt_name, kinds), {})
        if len(cache) > KEY_CACHE_LIMIT:
            cache.clear()
        get = cache.get
        for text, value in data.items():
            parsed = get(text)
            if parsed is None:
                parsed = self._parse_key(text, kinds)
                if parsed[2] is None:
                    cache[text] = parsed
            if parsed[1] or parsed[2] is not None:
                if parsed[2] is not None:
                    errors.append(f"@{info.aggregation}: {parsed[2]}")
                    continue
                ambiguous[info.aggregation] = ambiguous.get(info.aggregation, 0) + 1
            yield parsed[0], value

    @staticmethod
    def _parse_key(text: str, kinds: tuple[str, ...]) -> tuple[tuple, bool, str | None]:
        try:
            pieces, was_ambiguous = split_key(text, kinds)
            keys = tuple(convert_key(p, k) for p, k in zip(pieces, kinds))
        except ValueError as err:
            return (), False, str(err)
        return keys, was_ambiguous, None

    def _row(self, info: MapInfo, keys: tuple, value: MapInfo, stats: dict) -> AggRow:
        function = info.function
        params = tuple(info.params)
        if isinstance(value, list):
            buckets = hist_buckets(value, function, params)
            offset = info.value_offset
            if offset:  # lquantize with lo < 0 ran on v - lo: shift the edges back
                buckets = [_shifted(b, offset) for b in buckets]
            return AggRow(info.aggregation, function, keys, sum(b.count for b in buckets), buckets)
        if isinstance(value, dict):  # stats(): {count, average, total}
            if function == "stddev":
                # Needs the sum of squares from the ``sumsq`` companions; 0 until they come.
                stats[(info.aggregation, keys)] = {"count": value.get("count", 0), "total": value.get("total", 0)}
                value = 0
            elif function == "sum":
                value = value.get("total", 0)
            elif function == "count":
                value = value.get("count", 0)
            elif function == "avg" and value.get("count"):
                value = c_division(int(value.get("total", 0)), int(value["count"]))
            else:
                value = value.get("average", 0)
        if info.negated and isinstance(value, (int, float)):
            value = -value  # max(v) runs as min(-v)
        return AggRow(info.aggregation, function, keys, value, None)

    def _merge_companion(self, rows: dict, stats: dict, info: MapInfo, keys: tuple, value: Any) -> None:
        role = info.role
        key = (info.aggregation, keys)
        row = rows.get(key)
        if role in QUANTIZE_COMPANIONS and isinstance(value, list):
            if row is None:
                row = rows[key] = AggRow(info.aggregation, info.function, keys, 0, [])
            row.buckets = sorted((row.buckets or []) + companion_buckets(role, value), key=_bucket_order)
            row.value = sum(b.count for b in row.buckets)
        elif role == "sumsq" and key in stats:
            limb = int(info.params[0]) if info.params else 0
            stats[key].setdefault("limbs", {})[limb] = int(value)

    @staticmethod
    def _finish_stddev(rows: dict, stats: dict) -> None:
        """stddev rows: DTrace's integer formula over count, total and the exact sum of squares."""
        for key, parts in stats.items():
            row = rows.get(key)
            if row is not None and "limbs" in parts:
                row.value = dtrace_stddev(parts["count"], parts["total"], sum_of_squares(parts["limbs"]))

