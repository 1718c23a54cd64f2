"""Write a snapshot stream to a file chosen by its extension, atomically.

``.jsonl``: the model's JSONL (rows plus one status line per snapshot).
``.csv``: one line per row: ``time, snapshot, interval, aggregation, function, keys,
value, buckets`` with ``keys`` and ``buckets`` as JSON (so commas and stacks survive).
``.parquet``: the same columns, ``keys`` as JSON text and ``buckets`` as a list of
``{lo, hi, count}`` structs; one row group per snapshot.

Every writer fills a temporary file beside the target and renames it over the target
only when the run ends, so a reader (or a crashed cron job) never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import operator
import os
import tempfile
from collections.abc import Iterable
from typing import Any, Self

from dtscope.errors import UsageError, UserError

from .model import Snapshot, iso_time, snapshot_records

FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
CSV_COLUMNS = ["time", "snapshot", "interval", "aggregation", "function", "keys", "value", "buckets"]


def output_format(path: str) -> str:
    """The format for ``path`` by extension; UsageError for anything else."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise UsageError(
            f"-o {path}: unknown output type {extension or '(no extension)'!r}; "
            "use .jsonl, .csv or .parquet"
        )
    return FORMATS[extension]


def check_output_path(path: str) -> str:
    """Fail before tracing when the output cannot be written."""
    fmt = output_format(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"-o {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"-o {path}: directory {directory} is not writable")
    if os.path.isdir(path):
        raise UsageError(f"-o {path}: is a directory")
    return fmt


class SnapshotWriter:
    """Open with ``open_writer(path)``; ``write(snapshot)`` each; ``close()`` to publish."""

    binary = False

    def __init__(self, path: str):
        self.path = path
        directory = os.path.dirname(os.path.abspath(path)) or "."
        fd, self.tmp_path = tempfile.mkstemp(
            prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory
        )
        self.fh = os.fdopen(fd, "wb" if self.binary else "w", **({} if self.binary else {"newline": ""}))
        self.rows_written = 0
        self.closed = False

    def write(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def _finish_content(self) -> None:
        """Flush what the format buffers (Parquet footers)."""

    def close(self) -> None:
        """Publish the file: fsync, rename over the target."""
        if self.closed:
            return
        self.closed = True
        try:
            self._finish_content()
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            os.chmod(self.tmp_path, 0o644)
            os.replace(self.tmp_path, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        self.closed = True
        with contextlib.suppress(Exception):  # we are already failing
            self.fh.close()
        try:
            os.unlink(self.tmp_path)
        except OSError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_encode = _ENCODER.encode
_encode_str = json.encoder.encode_basestring_ascii
_AGGREGATION_AND_FUNCTION = operator.attrgetter("aggregation", "function")


def _encode_scalar(value: Any) -> str:
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _encode_str(value)
    return _encode(value)


def jsonl_text(snap: Snapshot, key_text_cache: dict[tuple, str] | None = None) -> str:
    """The JSONL lines of a snapshot, as ``snapshot_records`` + ``json.dumps`` would write them.

    A snapshot can hold tens of thousands of rows every second; building a dict per row
    and encoding it costs several times more than filling one template per aggregation.
    """
    records = snapshot_records(Snapshot(snap.time, [], snap.seq, snap.interval, snap.drops, snap.errors,
                                        snap.tracer_state, snap.final, snap.aggregations))
    status = _encode(next(records))
    if not snap.rows:
        return status + "\n"
    head = '{"time":' + _encode_str(iso_time(snap.time)) + ',"snapshot":' + _encode(snap.seq)
    lines: list[str] = []
    cache = key_text_cache if key_text_cache is not None else {}
    # One aggregation's rows come together (and share a function, and being histograms or not).
    for (aggregation, function), run in itertools.groupby(snap.rows, key=_AGGREGATION_AND_FUNCTION):
        run = list(run)
        histogram = run[0].buckets is not None
        template = _row_template(snap, head, aggregation, function, histogram)
        for _attempt in range(2):
            try:
                if histogram:
                    lines.extend([template % (cache[r.keys], _value_text(r.value), _buckets_text(r.buckets))
                                  for r in run])
                elif all(r.value.__class__ is int for r in run):  # '%s' of an int is its JSON
                    lines.extend([template % (cache[r.keys], r.value) for r in run])
                else:
                    lines.extend([template % (cache[r.keys], _value_text(r.value)) for r in run])
                break
            except KeyError:  # keys not seen before: encode them once, then retry the run
                for r in run:
                    if r.keys not in cache:
                        cache[r.keys] = ",".join(map(_encode_scalar, r.keys))
    lines.append(status)
    return "\n".join(lines) + "\n"


def _value_text(value: Any) -> Any:
    return value if type(value) is int else _encode(value)  # '%s' of an int is its JSON


def _buckets_text(buckets: list) -> str:
    return _encode([b.to_json() for b in buckets])


def _row_template(snap: Snapshot, head: str, aggregation: str, function: str, histogram: bool) -> str:
    """A %-template of one row's JSON line: keys, value (and buckets) are filled in per row."""
    info = snap.aggregations.get(aggregation)
    tail = ""
    if info and info.key_names:
        tail += ',"key_names":' + _encode(info.key_names)
    if info and info.unit:
        tail += ',"unit":' + _encode(info.unit)
    if snap.interval is not None:
        tail += ',"interval":' + _encode(snap.interval)
    middle = ',"buckets":%s' if histogram else ""
    escape = lambda text: text.replace("%", "%%")
    return (escape(head + ',"aggregation":' + _encode_str(aggregation) + ',"function":' + _encode_str(function))
            + ',"keys":[%s],"value":%s' + middle + escape(tail + "}"))


class JsonlWriter(SnapshotWriter):
    KEY_CACHE_LIMIT = 200_000

    def __init__(self, path: str):
        super().__init__(path)
        self._key_texts: dict[tuple, str] = {}  # the same keys come back every interval

    def write(self, snap: Snapshot) -> None:
        if len(self._key_texts) > self.KEY_CACHE_LIMIT:
            self._key_texts.clear()
        self.fh.write(jsonl_text(snap, self._key_texts))
        self.rows_written += len(snap.rows)


def _csv_cells(snap: Snapshot) -> Iterable[list[Any]]:
    for row in snap.rows:
        yield [
            iso_time(snap.time),
            snap.seq,
            "" if snap.interval is None else snap.interval,
            row.aggregation,
            row.function,
            json.dumps(list(row.keys)),
            row.value,
            "" if row.buckets is None else json.dumps([b.to_json() for b in row.buckets]),
        ]


class CsvWriter(SnapshotWriter):
    def __init__(self, path: str):
        super().__init__(path)
        self.csv = csv.writer(self.fh)
        self.csv.writerow(CSV_COLUMNS)

    def write(self, snap: Snapshot) -> None:
        for cells in _csv_cells(snap):
            self.csv.writerow(cells)
            self.rows_written += 1


class ParquetWriter(SnapshotWriter):
    binary = True

    def __init__(self, path: str):
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(path)
        self.pa = pa
        bucket = pa.struct([("lo", pa.int64()), ("hi", pa.int64()), ("count", pa.int64())])
        self.schema = pa.schema(
            [
                ("time", pa.timestamp("us", tz="UTC")),
                ("snapshot", pa.int64()),
                ("interval", pa.float64()),
                ("aggregation", pa.string()),
                ("function", pa.string()),
                ("keys", pa.string()),
                ("value", pa.float64()),
                ("buckets", pa.list_(bucket)),
            ]
        )
        self.writer = pq.ParquetWriter(self.fh, self.schema)

    def write(self, snap: Snapshot) -> None:
        if not snap.rows:
            return
        columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for row in snap.rows:
            columns["time"].append(snap.time)
            columns["snapshot"].append(snap.seq)
            columns["interval"].append(snap.interval)
            columns["aggregation"].append(row.aggregation)
            columns["function"].append(row.function)
            columns["keys"].append(json.dumps(list(row.keys)))
            columns["value"].append(float(row.value))
            columns["buckets"].append(None if row.buckets is None else [b.to_json() for b in row.buckets])
        self.writer.write_table(self.pa.table(columns, schema=self.schema))
        self.rows_written += len(snap.rows)

    def _finish_content(self) -> None:
        self.writer.close()


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "parquet": ParquetWriter}


def open_writer(path: str) -> SnapshotWriter:
    fmt = check_output_path(path)
    try:
        return WRITERS[fmt](path)
    except OSError as err:
        raise UserError(f"-o {path}: cannot write: {err.strerror}") from None


def write_snapshots(path: str, snapshots: Iterable[Snapshot]) -> int:
    """Write a whole stream; returns the number of rows. Nothing appears if it fails."""
    with open_writer(path) as writer:
        for snap in snapshots:
            writer.write(snap)
    return writer.rows_written


# --------------------------------------------------------------------------- text


def format_snapshot(snap: Snapshot, with_header: bool = False) -> str:
    """A snapshot as text, in the spirit of dtrace's printa(): one block per aggregation."""
    parts = []
    if with_header:
        span = f" ({snap.interval:g}s)" if snap.interval else ""
        parts.append(f"\n-- {iso_time(snap.time)}  snapshot {snap.seq}{span}\n")
    for name, rows in snap.by_aggregation().items():
        info = snap.aggregations.get(name)
        unit = f", {info.unit}" if info is not None and info.unit else ""
        parts.append(f"\n@{name} ({rows[0].function}{unit})\n")
        parts.extend(line + "\n" for line in format_rows(rows))
    return "".join(parts)


def format_rows(rows: list) -> list[str]:
    """The rows of one aggregation as lines: smallest value first, as dtrace sorts them."""
    if rows and rows[0].buckets is not None:
        lines: list[str] = []
        for row in sorted(rows, key=lambda r: r.value):
            lines.extend(_histogram_lines(row))
        return lines
    return _scalar_lines(sorted(rows, key=lambda r: (r.value, str(r.keys))))


def _scalar_lines(rows: list) -> list[str]:
    if any("\n" in str(k) for r in rows for k in r.keys):  # stacks: one block per key
        lines = []
        for row in rows:
            for key in row.keys:
                lines.extend(f"    {line}" for line in str(key).split("\n"))
            lines += [f"    {row.value:>16}", ""]
        return lines
    texts = [[str(k) for k in row.keys] for row in rows]
    widths = [max(len(t[i]) for t in texts) for i in range(max((len(t) for t in texts), default=0))]
    lines = []
    for row, cells in zip(rows, texts):
        padded = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells))
        lines.append(f"  {padded}  {row.value:>14}")
    return lines


def _bucket_label(bucket: Any, function: str) -> str:
    if bucket.lo is None:
        return f"< {bucket.hi}"
    if bucket.hi is None:
        return f">= {bucket.lo}"
    if function == "quantize" and bucket.lo < 0:
        return str(bucket.hi - 1)  # dtrace labels [-127, -63) as -64
    return str(bucket.lo)


def _histogram_lines(row: Any) -> list[str]:
    lines = [f"  {key}" for key in row.keys]
    total = sum(b.count for b in row.buckets) or 1
    lines.append(f"  {'value':>16}  {'-' * 13} Distribution {'-' * 13} count")
    for bucket in row.buckets:
        bar = "@" * round(40 * bucket.count / total)
        lines.append(f"  {_bucket_label(bucket, row.function):>16} |{bar:<40} {bucket.count}")
    lines.append("")
    return lines
