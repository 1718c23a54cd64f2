"""The bpftrace backend: run ``bpftrace -f json`` and turn its output into snapshots.

Two halves. :class:`SnapshotAssembler` is pure (JSON lines in, snapshots out) so that
it can be tested on captured output; :class:`BpftraceBackend` runs the child process,
feeds the assembler as lines arrive, and enforces the duration.

What the assembler expects from the program (the contract with ``dscript/bpftrace.py``):

* Every aggregation is a bpftrace map described by a ``MapInfo`` (``bt_name``,
  ``aggregation``, ``function``, ``role``, ``params``, ``key_kinds``, ``key_names``).
  Maps named ``@__*`` without a MapInfo are internal and never data.
* With an interval the program prints every map, then ``printf("__dtscope_snapshot__\\n")``:
  everything printed since the previous marker is one snapshot. Maps with
  ``MapInfo.cumulative`` are running totals that are never cleared: the snapshot holds
  their difference from the previous print, key by key (keys that did not change are
  left out), so an interval is exact. Other maps (min, max, hand-written programs) are
  cleared by the program after the print and taken as they are. bpftrace prints every map
  again when it exits; that tail becomes the final snapshot (totals of the whole run when
  there is no interval). Running totals keep every key of the run: BPFTRACE_MAP_KEYS_MAX
  (``-x map_keys_max``, default :data:`DEFAULT_MAP_KEYS_MAX`) bounds them, and a map that
  reaches it is reported in the snapshot's errors (bpftrace adds no more keys).
* Map JSON keys are the key values joined with ",". We split them knowing each key's
  kind: ``int``/``cgroup``/``syscall`` keys are digits; ``stack``/``ustack`` keys are
  ``""`` or ``"\\n"`` + frame lines that each start with spaces, so the stack ends at the
  first newline followed by "," or the end; ``str`` keys take what is left. One string
  key is always exact. Two or more string keys are exact unless commas inside them make
  several splits possible; then the commas go to the later keys and the snapshot's
  ``errors`` says how many keys of which aggregation were ambiguous.
* Roles: ``main`` holds the aggregation. A quantize has companions keyed like ``main``:
  ``negative`` (``hist(-v)``), ``high`` and ``negative_high`` (values of 2**31 and more,
  shifted); :func:`dtscope.dscript.bpftrace.quantize_bucket` maps their buckets to DTrace's,
  and all of them make one row's buckets. A ``stddev`` is ``stats(v)`` plus ``sumsq``
  companions, the 32-bit limbs (``params=(k,)``) of the exact sum of squares.
* ``llquantize`` is an ``lhist(index, 0, N, 1)`` of the bucket index, where index 0 is
  the underflow (< factor^lo), 1..N-2 are the buckets of :func:`llquantize_bounds` and
  N-1 the overflow (>= factor^(hi+1)).
* A D ``printa(@x)`` is output, not a snapshot: the program prints
  ``__dtscope_printa_begin__``, the maps of ``@x``, then ``__dtscope_printa_end__`` (each a
  ``printf`` line); we render those maps as text on the program output (``on_output``)
  and keep them out of the snapshot. (A bare ``print(@x)`` without the markers is taken
  as snapshot data, and a later print of the same map replaces it.)
* Options: the script's ``#!``/``#pragma D option`` settings, then ``-x``
  (``RunOptions.tracer_options``), go through :func:`resolve_options`: environment
  variables for bpftrace (strsize, bufsize, map_keys_max), arguments of the lowering
  (stackframes, ustackframes), nothing (quiet, defaultargs), or a UsageError naming the
  option. Macro arguments are substituted into the program by the lowering.
* ``negated``: the map holds ``-v`` (``max`` lowered to ``min(-v)``): we report ``-value``.
  ``value_offset``: an ``lquantize`` with ``lo < 0`` ran on ``v - lo``: we add it back to
  every bucket edge. (``dscript/bpftrace.py`` documents the same contract.)
"""

from __future__ import annotations

import collections
import datetime as _dt
import json
import math
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dtscope.errors import UsageError

from .base import (
    Backend,
    PreparedProgram,
    RunOptions,
    TracerError,
    TracerNotFound,
    TracerPermissionError,
    command_words,
    deliver,
)
from .model import AggInfo, AggRow, Bucket, Snapshot

SNAPSHOT_MARKER = "__dtscope_snapshot__"
PRINTA_BEGIN = "__dtscope_printa_begin__"
PRINTA_END = "__dtscope_printa_end__"
PLAIN_SCALARS = frozenset(("count", "sum", "min", "max", "avg"))
NUMERIC_KINDS = ("int", "cgroup", "syscall")
STACK_KINDS = ("stack", "ustack")

INSTALL_ADVICE = (
    "bpftrace is not installed (or not on PATH). Install it with `apt-get install bpftrace` "
    "(Debian/Ubuntu) or `dnf install bpftrace` (Fedora), or pass --bpftrace PATH"
)
ROOT_ADVICE = (
    "bpftrace must run as root: run dtscope with sudo (loading BPF programs needs CAP_BPF, "
    "CAP_PERFMON and CAP_SYS_RESOURCE, or CAP_SYS_ADMIN on kernels before 5.8, and "
    "bpftrace 0.17 also insists on uid 0)"
)

# Harmless on kernels that account BPF memory to the cgroup instead of RLIMIT_MEMLOCK.
_HARMLESS_STDERR = ("couldn't set RLIMIT_MEMLOCK",)
_STACK_LOOKUP = re.compile(r"failed to look up stack id")
_INTEGER = re.compile(r"-?\d+")

# Default BPFTRACE_MAP_KEYS_MAX is 4096; a per-process or per-path aggregation passes that
# on a busy host, and bpftrace silently stops adding keys.
DEFAULT_MAP_KEYS_MAX = 16384
# Snapshots a TracerError keeps (the latest; earlier ones were yielded already).
KEPT_ON_ERROR = 16
# Parsed keys kept per map; cleared when a map churns through more distinct keys than this.
KEY_CACHE_LIMIT = 200_000
# DTrace options (-x NAME=VALUE, #pragma D option) that bpftrace has a setting for.
# bufsize is bytes per CPU in DTrace; bpftrace counts pages of its perf ring buffer.
TRACER_OPTION_ENV = {
    "strsize": "BPFTRACE_STRLEN",
    "bufsize": "BPFTRACE_PERF_RB_PAGES",
    "map_keys_max": "BPFTRACE_MAP_KEYS_MAX",  # bpftrace's own: most keys per aggregation
}
# Options that become arguments of the lowering (stack() / ustack() without a depth).
LOWERING_OPTIONS = {"stackframes": "stack_frames", "ustackframes": "ustack_frames"}
# Options with nothing to do under bpftrace: quiet (bpftrace never prints DTrace's default
# "CPU ID FUNCTION:NAME" lines, so it is always quiet), defaultargs (read by the lowering),
# destructive (checked with --destructive), and the preprocessor's flags.
NO_EFFECT_OPTIONS = frozenset(("quiet", "defaultargs", "destructive", "C", "Z", "zdefs"))
# DTrace buffer and rate tuning with no bpftrace setting. They change no result, so a
# script's #pragma may carry them (ignored); asked for with -x they are refused.
DTRACE_TUNING_OPTIONS = frozenset(
    ("aggsize", "aggrate", "switchrate", "dynvarsize", "nspec", "specsize", "cleanrate", "bufresize", "statusrate")
)
MAX_STRLEN = 200  # bpftrace 0.17 refuses a longer BPFTRACE_STRLEN
_OTHER_BACKENDS_OPTIONS = frozenset(("speed",))  # replay's, carried in the same dict
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)b?\s*$", re.IGNORECASE)
PAGE_SIZE = 4096


def ring_buffer_pages(size: str) -> int:
    """DTrace's bufsize ("4m", "512k", "65536") -> perf ring buffer pages (a power of two)."""
    match = _SIZE.match(str(size))
    if not match:
        raise UsageError(f"bufsize {size!r}: expected a size such as 64k or 4m")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    pages = max(1, int(match.group(1)) * scale // PAGE_SIZE)
    return 1 << (pages.bit_length() - 1)


def _positive_int(name: str, value: str | None, where: str) -> int:
    try:
        number = int(str(value), 0)
    except ValueError:
        number = 0
    if number <= 0:
        raise UsageError(f"{where} {name}={value}: expected a positive integer")
    return number


def resolve_options(
    script_options: dict[str, str | None], tracer_options: dict[str, str]
) -> tuple[dict[str, str], dict[str, int]]:
    """DTrace options (the script's ``#!`` line and pragmas, then ``-x``) -> (environment, lowering).

    Refuses, with a UsageError naming it, an option whose meaning bpftrace cannot give.
    """
    env: dict[str, str] = {}
    lowering: dict[str, int] = {}
    merged = [(name, value, "#pragma D option") for name, value in script_options.items()]
    merged += [(name, value, "-x") for name, value in tracer_options.items()]
    for name, value, where in merged:
        if name in _OTHER_BACKENDS_OPTIONS or name.startswith(("I:", "D:")) or name in NO_EFFECT_OPTIONS:
            continue
        if name == "strsize":
            size = _positive_int(name, value, where)
            if size > MAX_STRLEN:
                raise UsageError(
                    f"{where} strsize={value}: bpftrace 0.17 keeps strings of at most {MAX_STRLEN} bytes"
                )
            env[TRACER_OPTION_ENV[name]] = str(size)
        elif name == "bufsize":
            env[TRACER_OPTION_ENV[name]] = str(ring_buffer_pages(str(value)))
        elif name == "map_keys_max":
            env[TRACER_OPTION_ENV[name]] = str(_positive_int(name, value, where))
        elif name in LOWERING_OPTIONS:
            lowering[LOWERING_OPTIONS[name]] = _positive_int(name, value, where)
        elif name == "bufpolicy" and value == "switch":
            continue  # bpftrace's perf buffers are read continuously, as with DTrace's switch
        elif name in DTRACE_TUNING_OPTIONS and where != "-x":
            continue
        elif name in DTRACE_TUNING_OPTIONS or name == "bufpolicy":
            raise UsageError(
                f"-x {name}: DTrace's {name} has no bpftrace counterpart (bpftrace takes strsize, "
                "bufsize, stackframes, ustackframes and map_keys_max)"
            )
        else:
            raise UsageError(
                f"{where} {name}: an option the bpftrace backend cannot honour (it takes strsize, "
                "bufsize, stackframes, ustackframes, map_keys_max, quiet and defaultargs)"
            )
    return env, lowering


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


def split_key(text: str, kinds: Sequence[str]) -> tuple[list[str], bool]:
    """Split a bpftrace JSON map key into one piece per key; also say whether it was ambiguous.

    Raises ValueError when no split fits the kinds.
    """
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


def stack_frames(piece: str) -> str:
    """bpftrace's "\\n    f1\\n    f2\\n" -> "f1\\nf2" (innermost frame first)."""
    return "\n".join(line.strip() for line in piece.split("\n") if line.strip())


def convert_key(piece: str, kind: str) -> Any:
    if kind == "int":
        return int(piece)
    if kind == "syscall":
        from .syscalls import syscall_name

        return syscall_name(int(piece))
    if kind == "cgroup":
        from .cgroups import cgroup_path

        return cgroup_path(int(piece))
    if kind in STACK_KINDS:
        return stack_frames(piece)
    return piece


# --------------------------------------------------------------------------- buckets


def llquantize_bounds(factor: int, low: int, high: int, steps: int) -> list[tuple[int | None, int | None]]:
    """Bucket ranges of DTrace's ``llquantize``, underflow first (the lowering's own table)."""
    from dtscope.dscript.bpftrace import llquantize_bounds as bounds

    return bounds(factor, low, high, steps)


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


QUANTIZE_COMPANIONS = ("negative", "high", "negative_high")


def companion_buckets(role: str, entries: list[dict[str, Any]]) -> list[Bucket]:
    """Buckets of a quantize companion map (negated and/or shifted values) in DTrace's terms.

    The lowering's :func:`~dtscope.dscript.bpftrace.quantize_bucket` says what a printed
    bucket ``[m, M]`` of each role stands for.
    """
    from dtscope.dscript.bpftrace import quantize_bucket

    out = []
    for entry in entries:
        low, high = entry.get("min"), entry.get("max")
        if low is None or high is None:
            continue  # open-ended buckets stay empty: companions hold non-negative values
        lo, hi = quantize_bucket(role, int(low), int(high))
        out.append(Bucket(lo, hi, int(entry.get("count", 0))))
    return out


def _bucket_order(bucket: Bucket) -> float:
    return -math.inf if bucket.lo is None else bucket.lo


# --------------------------------------------------------------------------- assembling


def aggregations_from_maps(maps: dict[str, Any]) -> dict[str, AggInfo]:
    infos: dict[str, AggInfo] = {}
    for info in maps.values():
        if getattr(info, "role", "main") != "main":
            continue
        infos[info.aggregation] = AggInfo(
            name=info.aggregation,
            function=info.function,
            key_names=list(getattr(info, "key_names", None) or []),
            key_kinds=list(getattr(info, "key_kinds", None) or []),
        )
    return infos


def _c_division(total: int, count: int) -> int:
    """``total / count`` truncated toward zero, as C (and DTrace's avg) divide."""
    quotient = abs(total) // count
    return -quotient if total < 0 else quotient


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
        return {"count": count, "average": _c_division(total, count) if count > 0 else 0, "total": total}
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

    ``maps``: bt map name ("@x") -> MapInfo. ``on_output`` receives printf()/time()
    text a line at a time.
    """

    def __init__(
        self,
        maps: dict[str, Any],
        aggregations: dict[str, AggInfo] | None = None,
        interval: float | None = None,
        on_output: Callable[[str], None] | None = None,
    ):
        self.maps = maps
        self.aggregations = aggregations if aggregations is not None else aggregations_from_maps(maps)
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
        line = line.strip()
        if not line:
            return None
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            self._emit_text(line + "\n")  # plain text (e.g. from system()) is program output
            return None
        if not isinstance(record, dict):
            return None
        kind, data = record.get("type"), record.get("data")
        if kind in ("map", "hist", "stats"):
            if isinstance(data, dict):
                (self._printa if self._printa is not None else self._pending).update(data)
        elif kind == "printf":
            if data == SNAPSHOT_MARKER + "\n":
                return self.snapshot()
            if data == PRINTA_BEGIN + "\n":
                self._printa = {}
            elif data == PRINTA_END + "\n":
                self._render_printa()
            else:
                self._emit_text(str(data))
        elif kind == "lost_events":
            lost = data.get("events", 0) if isinstance(data, dict) else data
            self._drops["lost_events"] = self._drops.get("lost_events", 0) + int(lost or 0)
        elif kind == "attached_probes":
            self.attached_probes = (data or {}).get("probes") if isinstance(data, dict) else None
        elif kind == "value":  # print(x): what D's trace(x) lowers to, one value per line
            self._emit_text((data if isinstance(data, str) else json.dumps(data)) + "\n")
        elif isinstance(data, str):
            self._emit_text(data)  # time(), join(), system() output and the like
        return None

    def _render_printa(self) -> None:
        """The maps printed by the program's own printa(): text on the output, not data."""
        from .output import format_rows

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
                if getattr(self.maps.get(bt_name), "cumulative", False):
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
                    info.aggregation for info in self.maps.values() if getattr(info, "cumulative", False)
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
            if info is None or not getattr(info, "cumulative", False):
                data[bt_name] = value
                continue
            keyed = bool(getattr(info, "key_kinds", None))
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
            if getattr(info, "key_kinds", None) and len(data) >= limit:
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
            info.aggregation for info in self.maps.values() if getattr(info, "role", "main") != "main"
        }
        for bt_name, data in printed.items():
            info = self.maps.get(bt_name)
            if info is None:
                continue  # internal (@__*) or not an aggregation of the program
            role = getattr(info, "role", "main")
            if role != "main":
                companions.append((info, data))
                continue
            aggregation, function = info.aggregation, info.function
            plain = function in PLAIN_SCALARS and not getattr(info, "negated", False)
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

    def _plain_rows_from_cache(self, info: Any, data: dict) -> list[AggRow] | None:
        """Rows of a count/sum/... map whose keys were all seen before; None to take the slow path.

        The steady state of a long run: the same keys every interval, integer values.
        """
        kinds = tuple(getattr(info, "key_kinds", None) or ())
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

    def _entries(self, info: Any, data: Any, ambiguous: dict[str, int], errors: list[str]):
        kinds = tuple(getattr(info, "key_kinds", None) or ())
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

    def _row(self, info: Any, keys: tuple, value: Any, stats: dict) -> AggRow:
        function = info.function
        params = tuple(getattr(info, "params", None) or ())
        if isinstance(value, list):
            buckets = hist_buckets(value, function, params)
            offset = getattr(info, "value_offset", 0) or 0
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
                value = _c_division(int(value.get("total", 0)), int(value["count"]))
            else:
                value = value.get("average", 0)
        if getattr(info, "negated", False) and isinstance(value, (int, float)):
            value = -value  # max(v) runs as min(-v)
        return AggRow(info.aggregation, function, keys, value, None)

    def _merge_companion(self, rows: dict, stats: dict, info: Any, keys: tuple, value: Any) -> None:
        role = getattr(info, "role", "")
        key = (info.aggregation, keys)
        row = rows.get(key)
        if role in QUANTIZE_COMPANIONS and isinstance(value, list):
            if row is None:
                row = rows[key] = AggRow(info.aggregation, info.function, keys, 0, [])
            row.buckets = sorted((row.buckets or []) + companion_buckets(role, value), key=_bucket_order)
            row.value = sum(b.count for b in row.buckets)
        elif role == "sumsq" and key in stats:
            limb = int((getattr(info, "params", None) or (0,))[0])
            stats[key].setdefault("limbs", {})[limb] = int(value)

    @staticmethod
    def _finish_stddev(rows: dict, stats: dict) -> None:
        """stddev rows: DTrace's integer formula over count, total and the exact sum of squares."""
        from dtscope.dscript.bpftrace import dtrace_stddev, sum_of_squares

        for key, parts in stats.items():
            row = rows.get(key)
            if row is not None and "limbs" in parts:
                row.value = dtrace_stddev(parts["count"], parts["total"], sum_of_squares(parts["limbs"]))


# --------------------------------------------------------------------------- running


def prepare_text(text: str, maps: dict[str, Any], name: str = "program") -> PreparedProgram:
    """A PreparedProgram for bpftrace text (from the lowering, or written by hand)."""
    return PreparedProgram(
        text=text,
        aggregations=aggregations_from_maps(maps),
        extra={"maps": maps, "name": name},
    )


def _has_root_privileges() -> bool:
    return os.geteuid() == 0


class BpftraceBackend(Backend):
    name = "bpftrace"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None  # the running tracer, for tests and signals
        self.stop_requested = threading.Event()
        self.substituted = False  # the program's $1.. are literals already (see command())
        self.extra_env: dict[str, str] = {}  # from the script's own options and -x

    def request_stop(self) -> None:
        """End the run early (safe from a signal handler): the tracer prints what it has."""
        self.stop_requested.set()

    @classmethod
    def find_binary(cls, path: str | None = None) -> str:
        if path:
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
            found = shutil.which(path)
            if found:
                return found
            raise TracerNotFound(f"--bpftrace {path}: no such executable. {INSTALL_ADVICE}")
        found = shutil.which("bpftrace")
        if not found:
            raise TracerNotFound(INSTALL_ADVICE)
        return found

    def prepare(self, program, options: RunOptions) -> PreparedProgram:
        from dtscope.dscript import bpftrace as lowering

        # Before lowering: without root the tracepoint formats are unreadable, and the
        # user would be told about missing tracepoints instead of missing privileges.
        self.find_binary(options.tracer_path)
        if not _has_root_privileges():
            raise TracerPermissionError(ROOT_ADVICE)

        target_path = None
        if options.target_command:
            words = command_words(options.target_command)
            target_path = elf_on_path(words[0])
        options_of = getattr(program, "options", None)
        env, settings = resolve_options(options_of() if options_of else {}, options.tracer_options)
        lowered = lowering.lower(
            program,
            interval=options.interval,
            target_pid=options.target_pid,
            target_path=target_path,
            macro_args=list(options.macro_args),
            **settings,
        )
        if "cpid" in getattr(lowered, "features", ()) and not options.target_command:
            raise UsageError("the script uses $target: name the process with -c CMD or -p PID")
        prepared = prepare_text(lowered.text, dict(lowered.maps))
        prepared.extra["env"] = env
        prepared.extra["macro_args_substituted"] = True
        marker = getattr(lowered, "snapshot_marker", SNAPSHOT_MARKER)
        if marker != SNAPSHOT_MARKER:
            raise TracerError(f"lowering uses snapshot marker {marker!r}, collector expects {SNAPSHOT_MARKER!r}")
        return prepared

    def command(self, binary: str, program_path: str, options: RunOptions) -> list[str]:
        cmd = [binary, "-f", "json"]
        if options.destructive:
            cmd.append("--unsafe")
        if options.target_command:
            cmd += ["-c", _absolute_command(options.target_command)]
        if options.target_pid is not None:
            cmd += ["-p", str(options.target_pid)]
        # A lowered D program has its macro arguments in its text already (as DTrace
        # substitutes them); hand-written bpftrace text reads them as $1...
        positional = [] if self.substituted else list(options.macro_args)
        return cmd + [program_path, *positional]

    def environment(self, options: RunOptions) -> dict[str, str]:
        """The tracer's environment: the options resolved from the script and -x win over ours."""
        env = dict(os.environ)
        env.setdefault("BPFTRACE_MAP_KEYS_MAX", str(DEFAULT_MAP_KEYS_MAX))
        env.update(self.extra_env)
        return env

    def stream(self, prepared: PreparedProgram, options: RunOptions) -> Iterator[Snapshot]:
        binary = self.find_binary(options.tracer_path)
        if not _has_root_privileges():
            raise TracerPermissionError(ROOT_ADVICE)
        maps = prepared.extra.get("maps", {})
        name = prepared.extra.get("name", "program")
        self.substituted = bool(prepared.extra.get("macro_args_substituted"))
        # prepare() resolved the script's options and -x; a program prepared from bpftrace
        # text (prepare_text) has only -x.
        env = prepared.extra.get("env")
        self.extra_env = dict(env) if env is not None else resolve_options({}, options.tracer_options)[0]
        assembler = SnapshotAssembler(maps, prepared.aggregations, options.interval, options.on_output)
        keys_max = self.environment(options).get("BPFTRACE_MAP_KEYS_MAX", "")
        assembler.map_keys_max = int(keys_max) if keys_max.isdigit() else None
        with tempfile.TemporaryDirectory(prefix="dtscope-") as workdir:
            program_path = os.path.join(workdir, f"{_safe_name(name)}.bt")
            with open(program_path, "w") as fh:
                fh.write(prepared.text)
            yield from _TracerRun(self, binary, program_path, options, assembler).snapshots()


def _parent_death_signal():
    """A preexec function: SIGTERM the tracer when dtscope dies, so no tracer is left running.

    The libc function is looked up here, in the parent: the child between fork and exec
    only makes the one call (no imports, no allocation that could meet a held lock).
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the tracer still stops when its output pipe closes
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm, 0, 0, 0)


def _absolute_command(command: str) -> str:
    """``-c`` with its program as an absolute path.

    bpftrace 0.17 refuses a bare name that PATH resolves to two files ("must refer to a
    unique binary"), which /bin -> /usr/bin hosts do for every program, and runs ELF
    files only (a script on PATH, such as a pyenv shim, is passed over as bpftrace would).
    """
    stripped = command.lstrip()
    try:
        first = shlex.split(stripped)[0]
    except (ValueError, IndexError):
        return command
    found = elf_on_path(first) if "/" not in first else None
    if found and stripped.startswith(first):
        return found + stripped[len(first):]
    return command


def elf_on_path(name: str) -> str | None:
    """The first ELF executable called ``name`` on PATH: what bpftrace -c can run (absolute)."""
    if "/" in name:
        return os.path.abspath(name) if _is_elf(name) else None
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and _is_elf(candidate):
            return os.path.abspath(candidate)
    return None


def _is_elf(path: str) -> bool:
    """bpftrace -c runs ELF executables only (it skips scripts such as pyenv's shims)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(name)) or "program"


class _TracerRun:
    """One child bpftrace process: reader threads, duration, shutdown, errors."""

    # After the stop signal bpftrace runs END and prints every map; we wait while it does.
    # The grace counts from the stop signal or the latest output line, whichever is later:
    # a tracer that is still printing is never killed. Resolving user stacks is silent and
    # slow (bpftrace reads the symbols of every process in the map before printing it:
    # 22-36 s for 3 s of host-wide ustack sampling), so programs with ustack get far longer.
    STOP_GRACE_SECONDS = 10.0
    USTACK_STOP_GRACE_SECONDS = 300.0
    RESIGNAL_SECONDS = 1.0

    def __init__(self, backend: BpftraceBackend, binary: str, program_path: str,
                 options: RunOptions, assembler: SnapshotAssembler):
        self.backend = backend
        self.options = options
        self.assembler = assembler
        self.program_path = program_path
        self.lines: queue.Queue = queue.Queue()
        self.stderr_lines: list[str] = []
        self.stderr_lock = threading.Lock()
        # What a TracerError hands back. A run that streams for days must not hold every
        # snapshot: the consumer has had them; the error keeps the latest ones.
        self.collected: collections.deque[Snapshot] = collections.deque(maxlen=KEPT_ON_ERROR)
        self.snapshot_count = 0
        self.stop_sent_at: float | None = None
        self.last_signal_at = 0.0
        self.last_output_at = 0.0
        with open(program_path, encoding="utf-8", errors="replace") as fh:
            uses_ustack = "ustack" in fh.read()
        self.stop_grace = self.USTACK_STOP_GRACE_SECONDS if uses_ustack else self.STOP_GRACE_SECONDS
        self.cmd = backend.command(binary, program_path, options)
        self.env = backend.environment(options)

    def _read_stdout(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self, stream) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if not line.strip() or any(h in line for h in _HARMLESS_STDERR):
                continue
            with self.stderr_lock:
                self.stderr_lines.append(line)

    def _take_stderr(self) -> tuple[int, list[str]]:
        """Stderr lines since the last call: (stack lookup failures, other messages)."""
        with self.stderr_lock:
            lines, self.stderr_lines = self.stderr_lines, []
        self._all_stderr.extend(line for line in lines if not _STACK_LOOKUP.search(line))
        failures = sum(1 for line in lines if _STACK_LOOKUP.search(line))
        return failures, [self._readable(line) for line in lines if not _STACK_LOOKUP.search(line)]

    def _readable(self, line: str) -> str:
        return line.replace(self.program_path, "<generated bpftrace>")

    def _stop(self, proc: subprocess.Popen) -> None:
        if self.stop_sent_at is None and proc.poll() is None:
            self.stop_sent_at = self.last_signal_at = time.monotonic()
            self._signal(proc, signal.SIGINT)  # bpftrace runs END and prints its maps

    def _signal(self, proc: subprocess.Popen, signum: int) -> None:
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    def _nudge(self, proc: subprocess.Popen, now: float) -> None:
        """Repeat the stop signal while waiting for the tracer to exit.

        bpftrace only notices the signal's flag when its event loop wakes up, and now and
        then a SIGINT goes unnoticed when no events come (seen with 0.17 at start-up and
        in steady state alike); a second one is noticed.
        """
        if self.stop_sent_at is None or proc.poll() is not None:
            return
        if now - max(self.stop_sent_at, self.last_output_at) > self.stop_grace:
            proc.kill()
        elif now - self.last_signal_at >= self.RESIGNAL_SECONDS:
            self.last_signal_at = now
            self._signal(proc, signal.SIGINT)

    def snapshots(self) -> Iterator[Snapshot]:
        options, assembler = self.options, self.assembler
        # The tracer's last words, for the error message when it dies (bounded: a long run
        # can print many harmless lines).
        self._all_stderr: collections.deque[str] = collections.deque(maxlen=200)
        try:
            proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                bufsize=1,
                env=self.env,
                # Its own session: the terminal's Ctrl-C reaches only us, and we stop the
                # tracer so that it still prints what it collected.
                start_new_session=True,
                preexec_fn=_parent_death_signal(),  # noqa: PLW1509 - one prctl() call, prepared above
            )
        except OSError as err:
            raise TracerNotFound(f"cannot run {self.cmd[0]}: {err}. {INSTALL_ADVICE}") from None
        self.backend.process = proc
        readers = [
            threading.Thread(target=self._read_stdout, args=(proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(proc.stderr,), daemon=True),
        ]
        for reader in readers:
            reader.start()
        # The clock starts when the probes are attached: compiling and loading the
        # program takes a while, and the duration is meant as time spent tracing.
        deadline: float | None = None
        expected_snapshots = (
            max(1, round(options.duration / options.interval))
            if options.duration and options.interval
            else None
        )
        try:
            while True:
                try:
                    line = self.lines.get(timeout=0.2)
                except queue.Empty:
                    line = ""
                except KeyboardInterrupt:
                    self._stop(proc)
                    continue
                now = time.monotonic()
                if line is None:
                    break
                if line:
                    self.last_output_at = now
                    snap = assembler.feed(line)
                    if deadline is None and options.duration and assembler.attached_probes is not None:
                        deadline = now + options.duration
                    if snap is not None:
                        self._drain_stderr_into_snapshot(snap)
                        yield from deliver(self, proc, snap, expected_snapshots)
                # With an interval the marker count ends the run; the clock is the backstop.
                # (generous: on a loaded host markers arrive late, and a missed one is a lost interval)
                grace = max(2 * options.interval, 1.0) if expected_snapshots is not None else 0.0
                if deadline is not None and now >= deadline + grace:
                    self._stop(proc)
                if self.backend.stop_requested.is_set():
                    self._stop(proc)
                self._nudge(proc, now)
            for reader in readers:
                reader.join(timeout=5)
            returncode = proc.wait()
        finally:
            if proc.poll() is None:  # the consumer stopped early, or we are failing
                self._stop(proc)
                # Nobody reads what it prints now: no reason to wait for stacks to resolve.
                deadline_kill = time.monotonic() + self.STOP_GRACE_SECONDS
                while proc.poll() is None and time.monotonic() < deadline_kill:
                    try:
                        proc.wait(timeout=self.RESIGNAL_SECONDS)
                    except subprocess.TimeoutExpired:
                        self._signal(proc, signal.SIGINT)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        yield from self._finish(proc, returncode)

    def _drain_stderr_into_snapshot(self, snap: Snapshot) -> None:
        failures, errors = self._take_stderr()
        if failures:
            snap.drops["stack_lookup"] = snap.drops.get("stack_lookup", 0) + failures
        snap.errors.extend(errors)

    def _finish(self, proc: subprocess.Popen, returncode: int) -> Iterator[Snapshot]:
        assembler = self.assembler
        stopped_by_us = self.stop_sent_at is not None
        ok = returncode == 0 or (stopped_by_us and returncode == -signal.SIGINT)
        failures, errors = self._take_stderr()
        if failures:
            assembler.add_drops("stack_lookup", failures)
        if ok:
            for error in errors:
                assembler.add_error(error)
            final = assembler.snapshot(final=True, tracer_state="exited")
            self.collected.append(final)
            yield final
            return
        messages = [self._readable(line) for line in self._all_stderr]
        text = "\n".join(messages)
        if "only supports running as the root user" in text or "Operation not permitted" in text:
            raise TracerPermissionError(ROOT_ADVICE + (f"\nbpftrace said: {text}" if text else ""))
        if assembler.attached_probes is None:
            raise TracerError(
                "bpftrace rejected the program"
                + (f":\n{text}" if text else f" (exit status {returncode})")
                + "\n(see it with `dtscope compile --target bpftrace SCRIPT`)",
                snapshots=list(self.collected),
            )
        final = assembler.snapshot(final=True, tracer_state="failed")
        self.collected.append(final)
        self.snapshot_count += 1
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
        raise TracerError(
            f"bpftrace {how} before the run ended, after {self.snapshot_count} snapshot(s)"
            + (f":\n{text}" if text else ""),
            snapshots=list(self.collected),
        )
