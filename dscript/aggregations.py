"""DTrace's aggregations: what each function computes and where its buckets fall.

The one place for the semantics that the lowering, the collectors, the terminal UI and
the exporters share:

* :class:`AggInfo`, the description of one aggregation of a program (name, function,
  keys and their kinds, parameters, unit), and :func:`aggregations_of`, which reads them
  from a tree;
* the buckets of ``quantize`` (power-of-two, with DTrace's negative buckets),
  ``lquantize`` (linear, with underflow and overflow) and ``llquantize`` (log-linear),
  each as a list of ``[lo, hi)`` ranges by bucket index, so that a display can walk to
  the neighbours of a bucket as DTrace's consumer does;
* ``avg`` and ``stddev`` with DTrace's integer arithmetic, and normalization.

A bound of ``None`` is an open end (``[None, 5)`` holds everything below 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import ast as A
from .builtins import BUILTIN_VARIABLES
from .printer import DPrinter

HISTOGRAM_FUNCTIONS = ("quantize", "lquantize", "llquantize")
SCALAR_FUNCTIONS = ("count", "sum", "avg", "min", "max", "stddev")

Bounds = tuple[int | None, int | None]


@dataclass
class AggInfo:
    """What is known about an aggregation from the program, before any data."""

    name: str  # without '@'; "" for the anonymous aggregation
    function: str
    key_names: list[str] = field(default_factory=list)  # D expressions of the keys, e.g. "zonename"
    unit: str | None = None  # "ns", "bytes", "count"... from probe metadata when known
    # How the values of each key are presented: "str", "int", "sym", "stack", "ustack",
    # "cgroup" (a cgroup id, shown as its path), "syscall" (a number, shown as its name),
    # or "" where only the D compiler's types could tell.
    key_kinds: list[str] = field(default_factory=list)
    # lquantize (lo, hi, step); llquantize (factor, lo, hi, steps); () otherwise or unknown.
    params: tuple[int, ...] = ()


# --------------------------------------------------------------------------- quantize

# DTrace keeps 63 negative buckets, the zero bucket and 63 positive ones.
QUANTIZE_ZERO = 63
QUANTIZE_BUCKETS = 2 * QUANTIZE_ZERO + 1


def quantize_index(value: int) -> int:
    """The index of the quantize bucket that counts ``value``."""
    if value == 0:
        return QUANTIZE_ZERO
    magnitude = min(abs(value).bit_length(), QUANTIZE_ZERO)
    return QUANTIZE_ZERO + magnitude if value > 0 else QUANTIZE_ZERO - magnitude


def quantize_value(index: int) -> int:
    """The value DTrace prints as the label of bucket ``index`` (0, 1, 2, 4... or -1, -2...)."""
    offset = index - QUANTIZE_ZERO
    if offset == 0:
        return 0
    return 1 << (offset - 1) if offset > 0 else -(1 << (-offset - 1))


def quantize_bounds(index: int) -> Bounds:
    """``[lo, hi)`` of quantize bucket ``index``: ``1 << k`` holds ``[1 << k, 2 << k)``,
    ``-(1 << k)`` holds ``[-(2 << k) + 1, -(1 << k) + 1)``, 0 holds ``[0, 1)``."""
    label = quantize_value(index)
    if label > 0:
        return label, 2 * label
    if label < 0:
        return 2 * label + 1, label + 1
    return 0, 1


def quantize_bucket(value: int) -> Bounds:
    """``[lo, hi)`` of the quantize bucket that counts ``value``."""
    return quantize_bounds(quantize_index(value))


def quantize_index_of_label(label: int) -> int:
    """The bucket index of a printed quantize label (a power of two, its negation, or 0)."""
    if label != 0 and abs(label) & (abs(label) - 1):
        raise ValueError(f"{label} is not a quantize bucket label")
    return quantize_index(label)


# --------------------------------------------------------------------------- lquantize


def lquantize_levels(low: int, high: int, step: int) -> int:
    """How many linear buckets ``lquantize(v, low, high, step)`` has between its ends."""
    return (high - low) // step


def lquantize_bucket_list(low: int, high: int, step: int) -> list[Bounds]:
    """Every bucket of ``lquantize(v, low, high, step)``: underflow, the steps, overflow.

    The top bucket starts at ``low + levels * step`` even when ``step`` does not divide
    ``high - low``, as in DTrace.
    """
    levels = lquantize_levels(low, high, step)
    out: list[Bounds] = [(None, low)]
    out += [(low + i * step, low + (i + 1) * step) for i in range(levels)]
    out.append((low + levels * step, None))
    return out


def lquantize_index(low: int, high: int, step: int, value: int) -> int:
    levels = lquantize_levels(low, high, step)
    if value < low:
        return 0
    return min((value - low) // step, levels) + 1


# --------------------------------------------------------------------------- llquantize


def llquantize_bounds(factor: int, low: int, high: int, steps: int) -> list[Bounds]:
    """DTrace's llquantize buckets as ``[lo, hi)`` pairs: underflow, the log-linear steps, overflow."""
    bounds: list[Bounds] = [(None, factor**low)]
    for order in range(low, high + 1):
        last, this = factor**order, factor ** (order + 1)
        width = this // min(steps, this)
        edge = last
        while edge < this:
            bounds.append((edge, min(edge + width, this)))
            edge += width
    bounds.append((factor ** (high + 1), None))
    return bounds


def llquantize_index(factor: int, low: int, high: int, steps: int, value: int) -> int:
    """The bucket index DTrace's dtrace_aggregate_llquantize_bucket() computes."""
    this = factor**low
    if value < this:
        return 0
    base, last = 1, this
    this *= factor
    for _order in range(low, high + 1):
        nbuckets = min(steps, this)
        if value < this:
            return base + (value - last) // (this // nbuckets)
        base += nbuckets - nbuckets // factor
        last, this = this, this * factor
    return base


def llquantize_problem(factor: int, low: int, high: int, steps: int) -> str | None:
    """Why DTrace would reject these llquantize parameters, or None."""
    if factor < 2:
        return "llquantize() factor must be at least 2"
    if steps < factor or steps % factor:
        return "llquantize() factor must evenly divide the number of steps (and not exceed it)"
    if low < 0 or high < low:
        return "llquantize() magnitudes must satisfy 0 <= low <= high"
    if low == 0 and steps > factor and (factor * factor) % steps:
        return "llquantize() steps must evenly divide factor*factor when low is 0"
    if factor ** (high + 1) >= 2**63:
        return "llquantize() high magnitude overflows 64 bits"
    return None


def bucket_list(function: str, params: tuple[int, ...] = ()) -> list[Bounds] | None:
    """Every bucket of a distribution, by index; None when the parameters are unknown."""
    if function == "quantize":
        return [quantize_bounds(i) for i in range(QUANTIZE_BUCKETS)]
    if function == "lquantize" and len(params) == 3:
        return lquantize_bucket_list(*params)
    if function == "llquantize" and len(params) == 4:
        return llquantize_bounds(*params)
    return None


def bucket_labels(function: str, params: tuple[int, ...] = ()) -> list[str] | None:
    """The label DTrace prints for each bucket of :func:`bucket_list`, by index."""
    buckets = bucket_list(function, params)
    if buckets is None:
        return None
    if function == "quantize":
        return [str(quantize_value(i)) for i in range(len(buckets))]
    return [f"< {hi}" if lo is None else f">= {lo}" if hi is None else str(lo) for lo, hi in buckets]


# --------------------------------------------------------------------------- values


def c_division(total: int, count: int) -> int:
    """``total / count`` truncated toward zero, as C (and DTrace's avg) divide."""
    quotient = abs(total) // abs(count)
    return -quotient if (total < 0) != (count < 0) else quotient


def dtrace_avg(count: int, total: int) -> int:
    """``avg()`` as DTrace prints it: the total over the count, truncated toward zero."""
    return c_division(total, count) if count else 0


def dtrace_stddev(count: int, total: int, sum_of_squares: int) -> int:
    """The standard deviation as DTrace prints it (dt_stddev(): integer arithmetic throughout).

    ``sqrt(sum_of_squares / count - (total / count)**2)`` with each division truncated and
    the square root rounded down.
    """
    if count <= 0:
        return 0
    average_of_squares = sum_of_squares // count
    average = abs(total) // count  # C's truncation toward zero, then abs()
    difference = average_of_squares - average * average
    return math.isqrt(difference) if difference > 0 else 0


def normalize(value: int, factor: int) -> int:
    """A value as ``normalize(@, factor)`` prints it: divided by the factor, truncated."""
    if factor == 0:
        raise ZeroDivisionError("normalize() by zero")
    return c_division(value, factor)


# --------------------------------------------------------------------------- descriptions

_STRING_BUILTINS = frozenset(
    ["execname", "probefunc", "probemod", "probename", "probeprov", "zonename", "cwd", "root", "execargs"]
)
_STRING_FUNCTIONS = frozenset(
    ["copyinstr", "stringof", "strjoin", "basename", "dirname", "cleanpath", "lltostr", "substr",
     "strtok", "toupper", "tolower", "inet_ntoa", "inet_ntoa6", "inet_ntop", "ddi_pathname", "json",
     "strchr", "strrchr", "strstr", "getenv"]
)
_SYMBOL_FUNCTIONS = frozenset(["sym", "func", "mod", "usym", "ufunc", "umod", "uaddr"])
_INT_FUNCTIONS = frozenset(
    ["strlen", "index", "rindex", "progenyof", "rand", "htons", "htonl", "htonll", "ntohs", "ntohl",
     "ntohll", "strtoll"]
)


def key_kind(expr: A.Expr) -> str:
    """How DTrace's consumer prints a key expression: "str", "sym", "int", "stack",
    "ustack", or "" when only the D compiler's type checking could tell."""
    if isinstance(expr, A.Call):
        if expr.func == "stack":
            return "stack"
        if expr.func in ("ustack", "jstack"):
            return "ustack"
        if expr.func in _SYMBOL_FUNCTIONS:
            return "sym"
        if expr.func in _STRING_FUNCTIONS:
            return "str"
        if expr.func in _INT_FUNCTIONS:
            return "int"
        return ""
    if isinstance(expr, (A.StrLit, A.StringOf)):
        return "str"
    if isinstance(expr, (A.IntLit, A.CharLit, A.SizeOf, A.OffsetOf)):
        return "int"
    if isinstance(expr, A.MacroArg):
        return "str" if expr.string_form else "int"
    if isinstance(expr, A.Ident):
        if expr.name in _STRING_BUILTINS:
            return "str"
        return "int" if expr.name in BUILTIN_VARIABLES else ""
    if isinstance(expr, A.Cast):
        return "str" if expr.type.spec.name == "string" and not expr.type.pointers else "int"
    if isinstance(expr, (A.Binary, A.Unary, A.Postfix)):
        if isinstance(expr, A.Binary) and expr.op == ",":
            return key_kind(expr.right)
        if isinstance(expr, A.Unary) and expr.op == "*":
            return ""
        return "int"
    if isinstance(expr, A.Ternary):
        return key_kind(expr.then) or key_kind(expr.other)
    return ""


# The parameters of each distribution, after the value: (first, count) of node.args.
_PARAMETERS = {"lquantize": (1, 3), "llquantize": (1, 4)}


def constant_value(node: A.Expr | None) -> int | None:
    """The value of an integer constant expression (literals and their arithmetic), or None."""
    if isinstance(node, A.IntLit):
        return node.value
    if isinstance(node, A.CharLit):
        return node.value
    if isinstance(node, A.Unary) and node.op in ("-", "+", "~"):
        inner = constant_value(node.operand)
        if inner is None:
            return None
        return {"-": -inner, "+": inner, "~": ~inner}[node.op]
    if isinstance(node, A.Binary) and node.op in ("+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"):
        left, right = constant_value(node.left), constant_value(node.right)
        if left is None or right is None:
            return None
        if node.op in ("/", "%"):
            if right == 0:
                return None
            quotient = c_division(left, right)
            return quotient if node.op == "/" else left - quotient * right
        if node.op in ("<<", ">>") and not 0 <= right < 64:
            return None
        return {
            "+": left + right, "-": left - right, "*": left * right, "<<": left << right,
            ">>": left >> right, "&": left & right, "|": left | right, "^": left ^ right,
        }[node.op]
    return None


def distribution_params(node: A.AggStmt) -> tuple[int, ...]:
    """The constant parameters of an lquantize/llquantize call (lquantize's step defaults
    to 1); () when the function has none or they are not constants."""
    first_count = _PARAMETERS.get(node.func)
    if first_count is None:
        return ()
    first, count = first_count
    values = [constant_value(a) for a in node.args[first : first + count]]
    if node.func == "lquantize" and len(values) == 2:
        values.append(1)
    if len(values) != count or any(v is None for v in values):
        return ()
    return tuple(v for v in values if v is not None)


def aggregations_of(program: A.Program) -> dict[str, AggInfo]:
    """Every aggregation the program feeds, by name, from its ``AggStmt`` nodes."""
    printer = DPrinter()
    found: dict[str, AggInfo] = {}
    for node in program.walk():
        if isinstance(node, A.AggStmt) and node.name not in found:
            found[node.name] = AggInfo(
                name=node.name,
                function=node.func,
                key_names=[printer.expr(k) for k in node.keys],
                key_kinds=[key_kind(k) for k in node.keys],
                params=distribution_params(node),
            )
    return found
