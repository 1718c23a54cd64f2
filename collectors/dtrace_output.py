"""Read what a DTrace consumer prints: text in, records out (no processes here).

Two streams matter:

* **stdout**: the default ``printa()`` layout of the DTrace consumer (illumos, FreeBSD,
  macOS and Oracle's DTrace for Linux print it alike). A row is its keys then its value:
  a string key is ``"  %-50s"``, an integer key ``" %Nd"`` (N = 16, 8, 5 or 3 by
  size), a ``stack()``/``ustack()`` key a newline then one frame per line indented by
  14 spaces; a scalar value is ``" %16lld"`` and ends the line; a distribution is a
  newline, a ``value ---- Distribution ---- count`` header and one line per bucket,
  then an empty line. :func:`parse_printa` turns one aggregation's ``printa()`` into
  :class:`~dtscope.collectors.model.AggRow` objects.
* **stderr**: ``dtrace: ...`` messages. :func:`classify_stderr` tells drops (with or
  without ``-x droptags``), runtime errors, compile errors and privilege problems apart.

Buckets get the same ``[lo, hi)`` meaning as every other backend's; see
:func:`bucket_bounds`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dtscope.dscript.aggregations import HISTOGRAM_FUNCTIONS, bucket_labels, bucket_list

from .model import AggRow, Bucket

STRING_WIDTH = 50  # dt_print_bytes pads string keys with "  %-50s"
STACK_INDENT = 14  # the consumer's default stackindent


class DTraceOutputError(ValueError):
    """The text does not have the layout ``printa()`` gives; says where."""


# --------------------------------------------------------------------------- key kinds

# Kinds a key can have (collectors.model.AggInfo.key_kinds). "" means not known: the
# parser then guesses between a string and an integer from the layout.
STRING_KINDS = ("str", "sym")
STACK_KINDS = ("stack", "ustack")
INT_KINDS = ("int",)


# --------------------------------------------------------------------------- printa


_HEADER = re.compile(r"^\s+value\s+-+ Distribution -+ count\s*$")
_INT_FIELD = re.compile(r"( +)(-?\d+)(?= |$)")
_TRAILING_INT = re.compile(r" +(-?\d+)$")
_PURE_INT = re.compile(r"^-?\d+$")


def parse_printa(
    text: str,
    aggregation: str,
    function: str,
    key_kinds: Sequence[str] = (),
    *,
    params: tuple[int, ...] = (),
    keep_zero_buckets: bool = False,
) -> list[AggRow]:
    """Rows of one aggregation from its default ``printa()`` output.

    ``text`` starts where the first row starts (without the newline ``printa()``
    prints before the rows). ``key_kinds`` has one entry per key ("str", "int",
    "stack", "ustack", "sym" or "" when unknown); ``params`` are an lquantize's or
    llquantize's parameters when known. Distribution rows that DTrace prints
    only as context (count 0) are left out unless ``keep_zero_buckets``.
    """
    lines = text.split("\n")
    rows: list[AggRow] = []
    pos = 0
    while pos < len(lines) and any(line.strip() for line in lines[pos:]):
        row, pos = _parse_row(lines, pos, aggregation, function, list(key_kinds), params, keep_zero_buckets)
        rows.append(row)
    return rows


def _parse_row(
    lines: list[str], pos: int, aggregation: str, function: str, kinds: list[str],
    params: tuple[int, ...], keep_zero: bool,
) -> tuple[AggRow, int]:
    histogram = function in HISTOGRAM_FUNCTIONS
    keys: list[object] = []
    inline: list[str] = []  # kinds of keys printed on the current line, not yet read
    for kind in kinds:
        if kind not in STACK_KINDS:
            inline.append(kind)
            continue
        # A stack starts with a newline: the current line holds just the keys before it.
        keys.extend(_split_inline(_line(lines, pos), inline, value=False, where=pos))
        inline = []
        pos += 1
        frames = []
        while pos < len(lines) and _is_frame(lines[pos]):
            frames.append(lines[pos].strip())
            pos += 1
        keys.append("\n".join(frames))
    if not histogram:
        fields = _split_inline(_line(lines, pos), inline, value=True, where=pos)
        keys.extend(fields[:-1])
        return AggRow(aggregation, function, tuple(keys), fields[-1]), pos + 1
    # A distribution starts with a newline, so the keys before it end their line.
    keys.extend(_split_inline(_line(lines, pos), inline, value=False, where=pos))
    pos += 1
    if not _HEADER.match(_line(lines, pos)):
        raise DTraceOutputError(f"line {pos + 1}: expected a distribution header, got {_line(lines, pos)!r}")
    pos += 1
    labels: list[str] = []
    counts: list[int] = []
    while pos < len(lines) and "|" in lines[pos]:
        label, count = parse_bucket_line(lines[pos], pos)
        labels.append(label)
        counts.append(count)
        pos += 1
    if pos < len(lines) and lines[pos].strip() == "":
        pos += 1  # the newline that ends the row
    bounds = bucket_bounds(function, labels, counts, params)
    buckets = [
        Bucket(lo, hi, count) for (lo, hi), count in zip(bounds, counts) if count != 0 or keep_zero
    ]
    return AggRow(aggregation, function, tuple(keys), sum(counts), buckets), pos


def _line(lines: list[str], pos: int) -> str:
    if pos >= len(lines):
        raise DTraceOutputError(f"line {pos + 1}: output ends in the middle of a row")
    return lines[pos]


def _is_frame(line: str) -> bool:
    """A stack frame: indented by the stack indent, and not a bare number (a value)."""
    if len(line) <= STACK_INDENT or line[:STACK_INDENT].strip():
        return False
    return not _PURE_INT.match(line.strip())


def _split_inline(line: str, kinds: list[str], *, value: bool, where: int) -> list[object]:
    """Split one line into its key fields (and the value, last, when ``value``).

    Integers are whitespace-free tokens, so integer fields after the last string are
    read from the right and whatever is left is the string (which may hold spaces or
    be wider than its 50 columns). A string followed by another string is cut at its
    padded width.
    """
    fields = list(kinds) + (["int"] if value else [])
    out: list[object] = []
    p = 0
    for index, kind in enumerate(fields):
        rest = fields[index + 1 :]
        if kind == "":
            kind = _guess_kind(line, p)
        if kind in INT_KINDS:
            m = _INT_FIELD.match(line, p)
            if not m:
                raise DTraceOutputError(f"line {where + 1}: expected a number at column {p + 1} of {line!r}")
            out.append(int(m.group(2)))
            p = m.end()
            continue
        if not line.startswith("  ", p) and not (p == len(line) and not rest):
            raise DTraceOutputError(f"line {where + 1}: expected a string key at column {p + 1} of {line!r}")
        if all(k in INT_KINDS for k in rest):
            # The last string on the line: the integers after it are the last tokens.
            tail = line[p:]
            numbers: list[int] = []
            for _ in rest:
                m = _TRAILING_INT.search(tail)
                if not m:
                    raise DTraceOutputError(f"line {where + 1}: expected {len(rest)} number(s) after a string in {line!r}")
                numbers.insert(0, int(m.group(1)))
                tail = tail[: m.start()]
            out.append(tail[2:].rstrip(" "))
            out.extend(numbers)
            return out
        end = p + 2 + STRING_WIDTH
        if len(line) > end and line[end] != " ":
            # Wider than its column: it runs to where the next string field starts.
            nxt = line.find("  ", end)
            end = nxt if nxt != -1 else len(line)
        out.append(line[p + 2 : end].rstrip(" "))
        p = end
    if line[p:].strip():
        raise DTraceOutputError(f"line {where + 1}: unexpected text after the keys: {line[p:]!r}")
    return out


def _guess_kind(line: str, p: int) -> str:
    """A key of unknown type: integers are right-aligned in 16/8/5/3 columns, strings
    start two spaces in. Exactly two spaces before digits reads as a string."""
    m = _INT_FIELD.match(line, p)
    if m and len(m.group(1)) != 2:
        return "int"
    return "str"


# --------------------------------------------------------------------------- distributions


def parse_bucket_line(line: str, where: int = 0) -> tuple[str, int]:
    """``"             256 |@@@@        1   "`` -> ("256", 1). Bars may be on either side
    of ``|`` (negative counts draw to the left)."""
    bar = line.find("|")
    label = line[:bar].rstrip(" @").strip()
    tokens = line[bar + 1 :].split()
    if not label or not tokens or not _PURE_INT.match(tokens[-1]):
        raise DTraceOutputError(f"line {where + 1}: not a distribution line: {line!r}")
    return label, int(tokens[-1])


def _label_number(label: str) -> int | None:
    return int(label) if _PURE_INT.match(label) else None


def _label_bound(label: str) -> int | None:
    """Where a label's bucket starts, when it follows another bucket (else None)."""
    n = _label_number(label)
    if n is not None:
        return n
    if label.startswith(">= "):
        return int(label[3:])
    return None


def bucket_bounds(
    function: str, labels: list[str], counts: list[int] | None = None, params: tuple[int, ...] = ()
) -> list[tuple[int | None, int | None]]:
    """``[lo, hi)`` of each printed bucket, from its label.

    With the distribution's parameters (or for quantize, which has none) the bucket is
    looked up in DTrace's own table (:mod:`dtscope.dscript.aggregations`). Otherwise the
    width comes from the labels around it:

    * lquantize: ``< lo`` is ``[None, lo)``, ``v`` is ``[v, next)``, ``>= hi`` is ``[hi, None)``;
    * llquantize: like lquantize for non-negative labels; Oracle's DTrace also prints
      ``abs() < s`` (``[-s+1, s)``), negative labels ``-v`` (``[prev+1, -v+1)``) and
      ``<= -s`` (``[None, -s+1)``). Its ``0`` (``|v| < 1`` when the low magnitude is 0)
      is illumos' underflow ``[None, 1)`` unless negative values were counted (``counts``).
    """
    table = bucket_table(function, params)
    if table is not None:
        try:
            return [table[label] for label in labels]
        except KeyError as err:
            if function == "quantize":
                raise DTraceOutputError(f"quantize bucket label {err.args[0]!r} is not a number") from None
            # not DTrace's illumos layout (Oracle's llquantize has negative buckets): read the labels
    counts = counts if counts is not None else [0] * len(labels)
    negatives = any(
        c and (label.startswith(("-", "<= -", "abs()"))) for label, c in zip(labels, counts)
    )
    bounds: list[tuple[int | None, int | None]] = []
    for i, label in enumerate(labels):
        n = _label_number(label)
        if label.startswith(">= "):
            bounds.append((int(label[3:]), None))
        elif label.startswith("<= -"):
            bounds.append((None, -int(label[4:]) + 1))
        elif label.startswith("abs() < "):
            s = int(label[8:])
            bounds.append((-s + 1, s))
        elif label.startswith("< "):
            bounds.append((None, int(label[2:])))
        elif n is None:
            raise DTraceOutputError(f"{function} bucket label {label!r} is not understood")
        elif function == "llquantize" and n == 0:
            bounds.append((0, 1) if negatives else (None, 1))
        elif function == "llquantize" and n < 0:
            prev = _previous_bound(labels, i)
            bounds.append((prev, n + 1))
        else:
            bounds.append((n, _next_bound(labels, i, n)))
    return bounds


@functools.lru_cache(maxsize=256)
def bucket_table(function: str, params: tuple[int, ...]) -> dict[str, tuple[int | None, int | None]] | None:
    """Printed label -> ``[lo, hi)`` of a distribution whose buckets are known."""
    labels = bucket_labels(function, params)
    buckets = bucket_list(function, params)
    if labels is None or buckets is None:
        return None
    return dict(zip(labels, buckets))


def _next_bound(labels: list[str], i: int, n: int) -> int:
    for label in labels[i + 1 :]:
        bound = _label_bound(label)
        if bound is not None and bound > n:
            return bound
        if label.startswith("abs() < "):
            break
    # The last printed bucket: DTrace prints one more row after the last non-empty one,
    # so this is a zero-count context row; give it the width of the one before.
    before = [b for b in (_label_number(x) for x in labels[:i]) if b is not None and b < n]
    return n + (n - before[-1]) if before else n + 1


def _previous_bound(labels: list[str], i: int) -> int | None:
    if i == 0:
        return None
    label = labels[i - 1]
    n = _label_number(label)
    if n is not None:
        return n + 1
    if label.startswith("<= -"):
        return -int(label[4:]) + 1
    return None


# --------------------------------------------------------------------------- stderr

# Drop messages, as the consumer words them; the kinds are dtscope's names for them.
DROP_TAGS = {
    "DTRACEDROP_PRINCIPAL": "principal",
    "DTRACEDROP_AGGREGATION": "aggregation",
    "DTRACEDROP_DYNAMIC": "dynamic",
    "DTRACEDROP_DYNRINSE": "dynamic_rinsing",
    "DTRACEDROP_DYNDIRTY": "dynamic_dirty",
    "DTRACEDROP_SPEC": "speculative",
    "DTRACEDROP_SPECBUSY": "speculation_busy",
    "DTRACEDROP_SPECUNAVAIL": "speculation_unavailable",
    "DTRACEDROP_STKSTROVERFLOW": "stack_string_overflow",
    "DTRACEDROP_DBLERROR": "error_probe",
}

_DROP_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d+) drops? on CPU (\d+)"), "principal"),
    (re.compile(r"^(\d+) aggregation drops? on CPU (\d+)"), "aggregation"),
    (re.compile(r"^(\d+) dynamic variable drops? with non-empty rinsing list"), "dynamic_rinsing"),
    (re.compile(r"^(\d+) dynamic variable drops? with non-empty dirty list"), "dynamic_dirty"),
    (re.compile(r"^(\d+) dynamic variable drops?\s*$"), "dynamic"),
    (re.compile(r"^(\d+) speculative drops?"), "speculative"),
    (re.compile(r"^(\d+) failed speculations? \(available buffer\(s\) still busy\)"), "speculation_busy"),
    (re.compile(r"^(\d+) failed speculations? \(no speculative buffer"), "speculation_unavailable"),
    (re.compile(r"^(\d+) jstack\(\)/ustack\(\) string table overflows?"), "stack_string_overflow"),
    (re.compile(r"^(\d+) errors? in ERROR probe enabling"), "error_probe"),
]

_TAG = re.compile(r"^\[([A-Z0-9_]+)\]\s*")
_COMPILE = re.compile(
    r"^(?:failed to compile script (?P<script>.+?)|invalid probe specifier (?P<spec>.*?)):\s*"
    r"(?:\[(?P<tag>[A-Z0-9_]+)\]\s*)?(?:line (?P<line>\d+):\s*)?(?P<msg>.*)$"
)
_RUNTIME = re.compile(r"^error (?:on enabled probe ID|in \S+ for probe ID) ")
_INFO = re.compile(
    r"^(?:script '.*' matched \d+ probes?|description '.*' matched \d+ probes?|pid \d+ has exited"
    r"|\d+ probes? matched|.*matched \d+ probes?$)"
)
PRIVILEGE_TEXT = "DTrace requires additional privileges"
# Oracle's DTrace for Linux, run by a non-root user, says this instead.
_PRIVILEGE_TEXTS = (PRIVILEGE_TEXT.lower(), "run as root for tracing")


@dataclass
class StderrEvent:
    """One classified stderr line.

    ``kind`` is "drop", "runtime_error", "compile_error", "privileges", "info" or
    "other"; drops carry ``drop_kind``/``count`` (and ``cpu``); compile errors carry
    ``line`` (in the D text dtrace compiled) and ``tag`` (with ``-x errtags``).
    """

    kind: str
    message: str
    drop_kind: str = ""
    count: int = 0
    cpu: int | None = None
    line: int | None = None
    tag: str | None = None


def classify_stderr(line: str) -> StderrEvent:
    text = line.rstrip("\n")
    body = text.removeprefix("dtrace: ")
    if any(text in body.lower() for text in _PRIVILEGE_TEXTS):
        return StderrEvent("privileges", body)
    tag = None
    m = _TAG.match(body)
    if m:
        tag = m.group(1)
        body_untagged = body[m.end() :]
    else:
        body_untagged = body
    for pattern, kind in _DROP_MESSAGES:
        dm = pattern.match(body_untagged)
        if dm:
            if tag:
                kind = DROP_TAGS.get(tag, tag.removeprefix("DTRACEDROP_").lower())
            cpu = int(dm.group(2)) if dm.re.groups >= 2 else None
            return StderrEvent("drop", body, drop_kind=kind, count=int(dm.group(1)), cpu=cpu, tag=tag)
    cm = _COMPILE.match(body)
    if cm:
        return StderrEvent(
            "compile_error",
            cm.group("msg"),
            line=int(cm.group("line")) if cm.group("line") else None,
            tag=cm.group("tag"),
        )
    if _RUNTIME.match(body):
        return StderrEvent("runtime_error", body)
    if _INFO.match(body):
        return StderrEvent("info", body)
    return StderrEvent("other", body)
