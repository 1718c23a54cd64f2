"""How a lowered program keeps DTrace's aggregations in bpftrace maps: the contract with the collector.

The lowering (:mod:`.generator`) writes these descriptions; the collector's snapshot
assembler (``collectors/bpftrace_assembler.py``) reads the maps back with them. Both sides
import this module, so the contract is written once.

* :attr:`BpftraceFraming.maps`: bt map name (``"@lat"``, ``"@"`` for D's anonymous
  aggregation) -> :class:`MapInfo`. Maps whose name starts with ``@__`` are the program's
  own variables (``self->``, globals, ``this->`` shared between clauses): never in
  ``maps``, and cleared in a final ``END`` clause so that bpftrace does not print them at exit.
* :attr:`MapInfo.role`: ``"main"`` holds the aggregation. A ``quantize`` has companions
  with the same keys: bpftrace's ``hist()`` puts every negative value in one bucket, so
  negative values go, negated, to ``"negative"``; bpftrace 0.17 also mislabels hist
  buckets at or above 2**31, so values with ``|v| >= 2**31`` go, shifted right by
  :data:`HIGH_SHIFT`, to ``"high"`` or ``"negative_high"``. Power-of-two edges survive the
  shift, so the four maps together give DTrace's buckets exactly: :func:`companion_bucket`
  turns a printed bucket of any of them into DTrace's ``[lo, hi)``. A ``stddev`` is
  ``stats(v)`` in ``main`` plus four ``"sumsq"`` maps: DTrace sums the squares in 128 bits,
  so each square is cut into 32-bit limbs and the map with ``params=(k,)`` sums limb ``k``
  (weight ``2**(32*k)``); :func:`sum_of_squares` adds them back.
* :attr:`MapInfo.negated`: the map holds ``-v`` (bpftrace 0.17 loses ``max()`` of negative
  values, so ``max(v)`` is lowered to ``min(-v)``): the value is ``-printed``.
* ``lquantize(v, lo, hi, step)`` is ``lhist(v - value_offset, ...)``: bpftrace's lhist needs
  ``min >= 0``, so for ``lo < 0`` the values are shifted by ``-lo`` and
  :attr:`MapInfo.value_offset` (``lo``) is added back to every bucket edge. ``params`` keeps
  D's ``(lo, hi, step)``.
* ``llquantize(v, factor, lo, hi, steps)`` is ``lhist(index, 0, N, 1)`` of DTrace's bucket
  index (computed in the program); ``params = (factor, lo, hi, steps)`` and
  :func:`dtscope.dscript.aggregations.llquantize_bounds` gives the ``N`` buckets.
* :attr:`MapInfo.key_kinds`: per key, ``int``, ``str``, ``stack`` (``kstack``), ``ustack``,
  ``cgroup`` (a cgroup v2 id: the collector shows its path) or ``syscall`` (a syscall
  number from ``raw_syscalls``: the collector shows its name). ``key_names``: the D text of
  each key. bpftrace prints a map's keys joined with ","; the kinds tell how to split them.
* With an interval, an ``interval`` clause prints every aggregation map, then the line
  :attr:`BpftraceFraming.snapshot_marker`: everything printed since the previous marker is
  one snapshot. Maps with :attr:`MapInfo.cumulative` (count, sum, avg, stddev and the
  quantizes, with their companions) are never cleared: each print is the running total and
  the collector subtracts the previous print per key, so no event is lost between a print
  and a clear. ``avg`` is then ``stats()`` (count and total; the collector divides).
  ``min``/``max`` and aggregations the program clears, truncates or normalizes itself are
  cleared after the print. bpftrace prints every map again when it exits: that tail is the
  final snapshot.
* A D ``printa(@x)`` prints :attr:`BpftraceFraming.printa_begin`, the maps of ``@x``, then
  :attr:`BpftraceFraming.printa_end` (each a ``printf`` line): those maps are program
  output, not snapshot data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..aggregations import AggInfo

SNAPSHOT_MARKER = "__dtscope_snapshot__"
PRINTA_BEGIN = "__dtscope_printa_begin__"
PRINTA_END = "__dtscope_printa_end__"
# Aggregations whose interval value is the difference of two running totals.
CUMULATIVE_FUNCTIONS = frozenset(("count", "sum", "avg", "stddev", "quantize", "lquantize", "llquantize"))
# D actions that change an aggregation's data behind the running totals.
RESETTING_ACTIONS = frozenset(("clear", "trunc", "normalize", "denormalize"))
NEGATIVE_PREFIX = "dtscope_neg_"
HIGH_PREFIX = "dtscope_hi_"
NEGATIVE_HIGH_PREFIX = "dtscope_neghi_"
SUMSQ_PREFIX = "dtscope_sq"  # + limb number + "_": @dtscope_sq0_name..@dtscope_sq3_name
SUMSQ_LIMBS = 4  # v*v needs 128 bits: four 32-bit limbs
# bpftrace 0.17 prints hist() buckets at or above 2**31 with overflowed labels, so
# quantize keeps such values, shifted right by HIGH_SHIFT, in companion maps.
HIGH_SHIFT = 31
COMPANION_PREFIXES = {
    "main": "",
    "negative": NEGATIVE_PREFIX,
    "high": HIGH_PREFIX,
    "negative_high": NEGATIVE_HIGH_PREFIX,
}
QUANTIZE_COMPANIONS = ("negative", "high", "negative_high")


@dataclass
class MapInfo:
    bt_name: str  # "@lat" (with the @); "@" for the anonymous aggregation
    aggregation: str  # D name without @; "" for the anonymous aggregation
    function: str  # the D aggregating function
    role: str = "main"  # "main" | "negative", "high", "negative_high" (quantize) | "sumsq" (stddev)
    params: tuple = ()  # lquantize (lo, hi, step); llquantize (factor, lo, hi, steps); sumsq (limb,)
    key_kinds: list[str] = field(default_factory=list)
    key_names: list[str] = field(default_factory=list)
    negated: bool = False  # values are -v (max lowered to min of -v)
    value_offset: int = 0  # lquantize with lo < 0: add to every bucket edge
    # Never cleared by the interval clause: each print is the total since the start, and
    # the collector subtracts the previous print key by key (exact interval snapshots).
    cumulative: bool = False


@dataclass
class BpftraceFraming:
    """What the collector needs to read a lowered program's output back."""

    maps: dict[str, MapInfo] = field(default_factory=dict)
    snapshot_marker: str = SNAPSHOT_MARKER
    printa_begin: str = PRINTA_BEGIN
    printa_end: str = PRINTA_END


def companion_bucket(role: str, low: int, high: int) -> tuple[int, int]:
    """DTrace's ``[lo, hi)`` for the bucket ``[low, high]`` that bpftrace printed for a quantize map.

    ``main`` holds ``v``, ``negative`` holds ``-v``, ``high`` holds ``v >> 31`` and
    ``negative_high`` holds ``-v >> 31``. For the high roles every value in the bucket
    ``[low, high]`` stands for ``[low << 31, (high+1) << 31)``.
    """
    if role == "main":
        return low, high + 1
    if role == "negative":
        return -high, -low + 1
    if role == "high":
        return low << HIGH_SHIFT, (high + 1) << HIGH_SHIFT
    if role == "negative_high":
        return -((high + 1) << HIGH_SHIFT) + 1, -(low << HIGH_SHIFT) + 1
    raise ValueError(f"not a quantize map role: {role!r}")


def sum_of_squares(limbs: dict[int, int]) -> int:
    """The exact sum of squares from a stddev's ``sumsq`` maps (``params[0]`` -> printed value)."""
    return sum(value << (32 * k) for k, value in limbs.items())


def aggregations_of_maps(maps: dict[str, MapInfo]) -> dict[str, AggInfo]:
    """The D aggregations that a program's bpftrace maps hold (one per ``main`` map)."""
    return {
        info.aggregation: AggInfo(
            name=info.aggregation,
            function=info.function,
            key_names=list(info.key_names),
            key_kinds=list(info.key_kinds),
            params=tuple(info.params),
        )
        for info in maps.values()
        if info.role == "main"
    }
