"""The one data model every backend produces and every consumer reads.

A tracer run is a stream of :class:`Snapshot` objects. A snapshot holds, for each
aggregation, its rows (one per key tuple) with a value and, for distributions,
buckets with the same ``[lo, hi)`` meaning whatever the backend (``None`` is an open
end). Snapshots carry the tracer's health too: drops and errors as counters.

On disk a run is JSONL: one line per aggregation row (``time``, ``aggregation``,
``function``, ``keys``, ``value``, ``buckets``...), plus one ``"type": "status"`` line
per snapshot with its drops, errors and tracer state. Rows and status lines of one
snapshot share ``snapshot`` (a sequence number) and ``time``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from dtscope.dscript.aggregations import AggInfo


@dataclass(frozen=True)
class Bucket:
    """Values ``v`` with ``lo <= v < hi``; ``lo``/``hi`` of ``None`` are open ends."""

    lo: int | None
    hi: int | None
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "count": self.count}


@dataclass
class AggRow:
    aggregation: str  # name without '@'; "" for the anonymous aggregation
    function: str  # count, sum, avg, min, max, stddev, quantize, lquantize, llquantize
    keys: tuple[Any, ...]  # str/int per key; a stack key is a str of frames joined by "\n"
    value: float | int  # the number; for a histogram, its total count
    buckets: list[Bucket] | None = None

    @property
    def is_histogram(self) -> bool:
        return self.buckets is not None


@dataclass
class Snapshot:
    time: _dt.datetime  # UTC, end of the interval
    rows: list[AggRow] = field(default_factory=list)
    seq: int = 0
    interval: float | None = None  # seconds this snapshot covers; None = whole run so far
    drops: dict[str, int] = field(default_factory=dict)  # kind -> count in this snapshot
    errors: list[str] = field(default_factory=list)
    tracer_state: str = "running"  # running | exited | failed
    final: bool = False
    aggregations: dict[str, AggInfo] = field(default_factory=dict)

    def by_aggregation(self) -> dict[str, list[AggRow]]:
        out: dict[str, list[AggRow]] = {}
        for row in self.rows:
            out.setdefault(row.aggregation, []).append(row)
        return out

    def frames(self) -> dict[str, Any]:
        """One tidy pandas frame per aggregation: key columns, ``value``, ``buckets``."""
        import pandas as pd

        frames = {}
        for name, rows in self.by_aggregation().items():
            info = self.aggregations.get(name)
            width = max((len(r.keys) for r in rows), default=0)
            names = key_column_names(info.key_names if info else [], width)
            records = []
            for r in rows:
                rec = {names[i]: (r.keys[i] if i < len(r.keys) else None) for i in range(width)}
                rec["function"] = r.function
                rec["value"] = r.value
                rec["buckets"] = [b.to_json() for b in r.buckets] if r.buckets is not None else None
                records.append(rec)
            frames[name] = pd.DataFrame.from_records(records)
        return frames


def key_column_names(key_names: list[str], width: int) -> list[str]:
    """Column names for keys: the D expression when known and unique, else ``key0``.."""
    names: list[str] = []
    for i in range(width):
        name = key_names[i] if i < len(key_names) and key_names[i] else f"key{i}"
        if name in names or name in ("value", "function", "buckets"):
            name = f"key{i}"
        names.append(name)
    return names


# --------------------------------------------------------------------------- JSONL


def iso_time(t: _dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def snapshot_records(snap: Snapshot) -> Iterator[dict[str, Any]]:
    t = iso_time(snap.time)
    for row in snap.rows:
        rec: dict[str, Any] = {
            "time": t,
            "snapshot": snap.seq,
            "aggregation": row.aggregation,
            "function": row.function,
            "keys": list(row.keys),
            "value": row.value,
        }
        if row.buckets is not None:
            rec["buckets"] = [b.to_json() for b in row.buckets]
        info = snap.aggregations.get(row.aggregation)
        if info and info.key_names:
            rec["key_names"] = info.key_names
        if info and info.unit:
            rec["unit"] = info.unit
        if snap.interval is not None:
            rec["interval"] = snap.interval
        yield rec
    yield {
        "type": "status",
        "time": t,
        "snapshot": snap.seq,
        "interval": snap.interval,
        "drops": snap.drops,
        "errors": snap.errors,
        "tracer": snap.tracer_state,
        "final": snap.final,
    }


def write_jsonl(snapshots: Iterable[Snapshot], fh: IO[str]) -> None:
    for snap in snapshots:
        for rec in snapshot_records(snap):
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")


def read_jsonl(lines: Iterable[str]) -> Iterator[Snapshot]:
    """Rebuild snapshots from JSONL lines (the inverse of :func:`write_jsonl`).

    Files written without status lines (by hand, or by other tools) still load:
    rows are grouped by ``snapshot`` or, failing that, by ``time``.
    """
    current: Snapshot | None = None
    current_key: Any = None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"line {number}: not JSON: {err.msg}") from None
        if not isinstance(rec, dict) or "time" not in rec:
            raise ValueError(f"line {number}: not a dtscope record (no 'time')")
        key = rec.get("snapshot", rec["time"])
        if current is None or key != current_key:
            if current is not None:
                yield current
            current = Snapshot(time=parse_time(rec["time"]), seq=rec.get("snapshot", 0) or 0)
            current.interval = rec.get("interval")
            current_key = key
        if rec.get("type") == "status":
            current.drops = dict(rec.get("drops") or {})
            current.errors = list(rec.get("errors") or [])
            current.tracer_state = rec.get("tracer", "running")
            current.final = bool(rec.get("final"))
            current.interval = rec.get("interval")
            continue
        try:
            buckets = rec.get("buckets")
            row = AggRow(
                aggregation=rec["aggregation"],
                function=rec["function"],
                keys=tuple(rec.get("keys") or ()),
                value=rec["value"],
                buckets=[Bucket(b["lo"], b["hi"], b["count"]) for b in buckets] if buckets is not None else None,
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"line {number}: missing or malformed field {err}") from None
        current.rows.append(row)
        if row.aggregation not in current.aggregations and (rec.get("key_names") or rec.get("unit")):
            current.aggregations[row.aggregation] = AggInfo(
                row.aggregation, row.function, list(rec.get("key_names") or []), rec.get("unit")
            )
    if current is not None:
        yield current


# --------------------------------------------------------------------------- atomic output


def atomic_write(path: str, write: Any, mode: str = "w") -> None:
    """Write ``path`` so that it appears complete or not at all.

    ``write(fh)`` fills a temporary file in the same directory, which is fsynced and
    renamed over ``path`` only when ``write`` returns.
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes 0600 files; give the file the mode a plain open() would (or the
        # mode of the file it replaces), so reports stay readable by others.
        try:
            file_mode = os.stat(path).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            file_mode = 0o666 & ~umask
        os.fchmod(fd, file_mode)
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
