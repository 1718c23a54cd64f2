"""A row's distribution drawn the way DTrace prints a quantize aggregation.

    value  ------------- Distribution ------------- count
     4096 |                                         0
     8192 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 10
    16384 |                                         0

Like DTrace: one empty bucket before the first and after the last non-empty one, the
empty buckets in between, and 40 ``@`` for the whole count (fewer when the pane is
narrow). The value column is the bucket's low end in the aggregation's raw unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtscope.collectors.model import Bucket
from dtscope.dscript.aggregations import QUANTIZE_BUCKETS, quantize_bounds, quantize_index
from rich.text import Text
from textual.widgets import Static

from .estimate import format_count, format_rate, format_value, sorted_buckets

FULL_BAR = 40
VALUE_WIDTH = 16


def render_quantize(buckets: Sequence[Bucket], function: str = "quantize", bar_width: int = FULL_BAR) -> list[str]:
    """The lines DTrace would print for these buckets (header first)."""
    rows = _rows_to_draw(sorted_buckets(buckets), function)
    total = sum(b.count for b in rows)
    label = " Distribution "
    dashes = max(0, bar_width - len(label))
    title = "-" * (dashes // 2) + label + "-" * (dashes - dashes // 2)
    lines = [f"{'value':>{VALUE_WIDTH}}  {title} count"]
    for bucket in rows:
        ats = int(bucket.count * bar_width / total + 0.5) if total else 0
        bar = ("@" * ats).ljust(bar_width)
        lines.append(f"{_label(bucket):>{VALUE_WIDTH}} |{bar} {bucket.count}")
    return lines


def fit_height(lines: list[str], height: int) -> list[str]:
    """Drop empty buckets inside the distribution (shown as one ``:`` line) until it fits."""
    if len(lines) <= height or len(lines) < 4:
        return lines
    header, body = lines[0], lines[1:]
    kept = [body[0]]
    for index in range(1, len(body) - 1):
        if "@" not in body[index] and body[index].rstrip().endswith(" 0"):
            if kept[-1] != _ELLIPSIS:
                kept.append(_ELLIPSIS)
            continue
        kept.append(body[index])
    kept.append(body[-1])
    return [header] + kept


_ELLIPSIS = f"{':':>{VALUE_WIDTH}} |"


def _label(bucket: Bucket) -> str:
    if bucket.lo is None:
        return f"< {bucket.hi}"
    if bucket.hi is None:
        return f">= {bucket.lo}"
    return str(bucket.lo)


def _rows_to_draw(buckets: list[Bucket], function: str) -> list[Bucket]:
    nonzero = [i for i, b in enumerate(buckets) if b.count > 0]
    if not nonzero:
        return []
    used = buckets[nonzero[0] : nonzero[-1] + 1]
    filled: list[Bucket] = []
    for bucket in used:
        if filled and filled[-1].hi is not None and bucket.lo is not None:
            filled.extend(_gap(filled[-1].hi, bucket.lo, function))
        filled.append(bucket)
    before = _neighbour_below(filled[0], function)
    after = _neighbour_above(filled[-1], function)
    return ([before] if before else []) + filled + ([after] if after else [])


def _gap(start: int, end: int, function: str) -> list[Bucket]:
    if start >= end:
        return []
    if function != "quantize":
        return [Bucket(start, end, 0)]
    out = []
    index = quantize_index(start)
    while index < QUANTIZE_BUCKETS and len(out) < 128:
        lo, hi = quantize_bounds(index)
        if lo >= end:
            break
        out.append(Bucket(lo, min(hi, end), 0))
        index += 1
    return out


def _neighbour_below(bucket: Bucket, function: str) -> Bucket | None:
    if bucket.lo is None or bucket.hi is None:
        return None
    if function == "quantize":
        index = quantize_index(bucket.lo)
        return Bucket(*quantize_bounds(index - 1), 0) if index > 0 else None
    return Bucket(bucket.lo - (bucket.hi - bucket.lo), bucket.lo, 0)


def _neighbour_above(bucket: Bucket, function: str) -> Bucket | None:
    if bucket.lo is None or bucket.hi is None:
        return None
    if function == "quantize":
        index = quantize_index(bucket.hi)
        return Bucket(*quantize_bounds(index), 0) if index < QUANTIZE_BUCKETS else None
    return Bucket(bucket.hi, bucket.hi + (bucket.hi - bucket.lo), 0)


class Distribution(Static):
    """The selected row's quantize, or its figures for count/sum/avg/min/max."""

    DEFAULT_CSS = """
    Distribution {
        width: 1fr;
        height: 100%;
        overflow: hidden;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    _last: tuple | None = None

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(self, buckets: Sequence[Bucket] | None, function: str, unit: str | None, title: str) -> None:
        self._last = (buckets, function, unit, title)
        unit_note = f" ({unit})" if unit else ""
        if not buckets or not any(b.count for b in buckets):
            self.update(Text(f"{title}{unit_note}\nno events in the last interval", no_wrap=True))
            return
        bar_width = max(8, min(FULL_BAR, self.size.width - VALUE_WIDTH - 12)) if self.size.width else FULL_BAR
        lines = render_quantize(buckets, function, bar_width)
        if self.size.height:
            lines = fit_height(lines, self.size.height - 1)
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{title}{unit_note}\n", style="bold")
        text.append("\n".join(lines))
        self.update(text)

    def show_scalar(self, title: str, function: str, row, unit: str | None) -> None:
        self._last = None
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{title}\n", style="bold")
        if row.rate is not None:
            text.append(f"rate/s  {format_rate(row.rate)}\n")
        if row.count is not None:
            text.append(f"{'count' if function == 'count' else 'total'}   {format_count(row.count)}\n")
        if row.value is not None and function not in ("count", "sum"):
            text.append(f"{function}  {format_value(row.value, unit)}\n")
        self.update(text)
