"""Percentiles estimated from histogram buckets, and how numbers are shown.

A DTrace histogram keeps only how many values fell in each bucket ``[lo, hi)``, not
the values themselves, so a percentile can only be estimated. dtscope assumes the
values of a bucket are spread evenly over the integers ``lo .. hi-1`` (DTrace values
are integers) and interpolates linearly inside the one bucket that holds the rank:

    rank  r = q * N                       (N = total count, 0 < q <= 1)
    the bucket is the first whose cumulative count reaches r
    value = lo + (r - count_below) / count * (hi - 1 - lo)

So a percentile is never outside the bucket that holds it, and an exact power-of-two
workload (all values in one bucket) shows p50 at the middle of that bucket. ``max`` is
the largest value the highest non-empty bucket can hold (``hi - 1``): an upper bound,
never lower than the true maximum. Open-ended buckets (``lo`` or ``hi`` of ``None``)
cannot be interpolated: the known end is returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from dtscope.collectors.model import Bucket

PERCENTILES = (0.50, 0.90, 0.99)


def sorted_buckets(buckets: Iterable[Bucket]) -> list[Bucket]:
    """Buckets in value order (an open low end first)."""
    return sorted(buckets, key=lambda b: -math.inf if b.lo is None else b.lo)


def estimate_quantile(buckets: Sequence[Bucket], q: float) -> float | None:
    """The ``q`` quantile of values counted in ``buckets`` (in value order); None when empty."""
    total = sum(b.count for b in buckets)
    if total <= 0:
        return None
    rank = q * total
    below = 0
    for bucket in buckets:
        if bucket.count <= 0:
            continue
        if below + bucket.count >= rank:
            return _interpolate(bucket, (rank - below) / bucket.count)
        below += bucket.count
    return _interpolate(_last_nonempty(buckets), 1.0)


def estimate_max(buckets: Sequence[Bucket]) -> float | None:
    """Upper bound of the largest value: the top of the highest non-empty bucket."""
    top = _last_nonempty(buckets)
    if top is None:
        return None
    return _interpolate(top, 1.0)


def summarize(buckets: Sequence[Bucket]) -> tuple[float | None, float | None, float | None, float | None]:
    """(p50, p90, p99, max) of buckets in value order, in one pass over the counts."""
    total = 0
    for b in buckets:
        total += b.count
    if total <= 0:
        return (None, None, None, None)
    results: list[float | None] = []
    targets = [q * total for q in PERCENTILES]
    below = 0
    index = 0
    top = None
    for bucket in buckets:
        count = bucket.count
        if count <= 0:
            continue
        top = bucket
        while index < len(targets) and below + count >= targets[index]:
            results.append(_interpolate(bucket, (targets[index] - below) / count))
            index += 1
        below += count
    while len(results) < len(targets):
        results.append(_interpolate(top, 1.0))
    return (results[0], results[1], results[2], _interpolate(top, 1.0))


def _last_nonempty(buckets: Sequence[Bucket]) -> Bucket | None:
    for bucket in reversed(buckets):
        if bucket.count > 0:
            return bucket
    return None


def _interpolate(bucket: Bucket | None, fraction: float) -> float | None:
    if bucket is None:
        return None
    if bucket.lo is None:
        return float(bucket.hi - 1) if bucket.hi is not None else None
    if bucket.hi is None:
        return float(bucket.lo)
    top = max(bucket.lo, bucket.hi - 1)
    return bucket.lo + fraction * (top - bucket.lo)


# --------------------------------------------------------------------------- formatting

_DURATION_UNITS = ((1e9, "s"), (1e6, "ms"), (1e3, "us"), (1.0, "ns"))
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def format_value(value: float | None, unit: str | None = None) -> str:
    """A short human form: durations for ``ns``/``us``/``ms``, SI suffixes otherwise."""
    if value is None:
        return "-"
    if unit in ("ns", "us", "ms", "s"):
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
        return format_duration_ns(value * scale)
    if unit == "bytes":
        return _format_scaled(value, ((2**40, "T"), (2**30, "G"), (2**20, "M"), (2**10, "K"))) + "B"
    return _format_scaled(value, _SI)


def format_duration_ns(ns: float) -> str:
    magnitude = abs(ns)
    for scale, suffix in _DURATION_UNITS:
        if magnitude >= scale or scale == 1.0:
            return f"{_three_digits(ns / scale)}{suffix}"
    return f"{ns:.0f}ns"  # pragma: no cover - the loop always returns


def format_rate(rate: float | None) -> str:
    if rate is None:
        return "-"
    if rate == 0:
        return "0"
    return _format_scaled(rate, _SI)


def format_count(count: float | None) -> str:
    if count is None:
        return "-"
    if float(count).is_integer() and abs(count) < 1e6:
        return f"{int(count)}"
    return _format_scaled(count, _SI)


def _format_scaled(value: float, table) -> str:
    magnitude = abs(value)
    for scale, suffix in table:
        if magnitude >= scale:
            return f"{_three_digits(value / scale)}{suffix}"
    if float(value).is_integer():
        return f"{int(value)}"
    return _three_digits(value)


def _three_digits(x: float) -> str:
    magnitude = abs(x)
    if magnitude >= 100:
        return f"{x:.0f}"
    if magnitude >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


# --------------------------------------------------------------------------- many rows at once

QUANTILES_AND_MAX = PERCENTILES + (1.0,)


def summarize_cells(rows, lo, hi, counts, row_count: int):
    """(p50, p90, p99, max) of many rows at once, the same estimate as :func:`summarize`.

    The buckets of all rows are given as flat numpy arrays sorted by ``rows`` then
    ``lo``: ``lo``/``hi`` are floats with ``-inf``/``inf`` for open ends. Returns a
    ``(4, row_count)`` float array, NaN for rows without counts. With 10,000 keys this
    is a few milliseconds where a Python loop takes hundreds.
    """
    import numpy as np

    out = np.full((len(QUANTILES_AND_MAX), row_count), np.nan)
    if len(counts) == 0 or row_count == 0:
        return out
    counts = counts.astype(np.float64)
    cumulative = np.cumsum(counts)
    totals = np.bincount(rows, weights=counts, minlength=row_count)
    first = np.searchsorted(rows, np.arange(row_count), side="left")
    before = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
    valid = totals > 0
    last = len(cumulative) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        for k, q in enumerate(QUANTILES_AND_MAX):
            target = before + q * totals
            index = np.minimum(np.searchsorted(cumulative, target, side="left"), last)
            below = cumulative[index] - counts[index]
            fraction = np.where(counts[index] > 0, (target - below) / counts[index], 1.0)
            low, high = lo[index], hi[index]
            top = np.maximum(low, high - 1)
            value = low + np.clip(fraction, 0.0, 1.0) * (top - low)
            value = np.where(np.isinf(low), high - 1, value)
            value = np.where(np.isinf(high), low, value)
            out[k] = np.where(valid, value, np.nan)
    return out
