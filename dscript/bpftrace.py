"""Lowering D to bpftrace 0.17: one generator over the D tree, with the D printer as base.

``lower(program) -> BpftraceProgram`` returns the bpftrace text and, for each bpftrace map
that holds aggregation data, a :class:`MapInfo`. Every construct either has a faithful
bpftrace form (see ``docs/bpftrace-mapping.md`` and :mod:`.bpftrace_tables`) or is reported
through :meth:`Generator.unsupported`; all problems are raised together as one
:class:`~.diagnostics.DiagnosticError` with positions. Nothing is silently changed.

The contract with the collector (``collectors/bpftrace.py``), which runs the text with
``bpftrace -f json`` and reads the maps back:

* ``BpftraceProgram.maps``: bt map name (``"@lat"``, ``"@"`` for D's anonymous aggregation)
  -> :class:`MapInfo`. Maps whose name starts with ``@__`` are the program's own variables
  (``self->``, globals, ``this->`` shared between clauses): never in ``maps``, and cleared
  in a final ``END`` clause so that bpftrace does not print them at exit.
* ``MapInfo.role``: ``"main"`` holds the aggregation. ``"negative"`` is the companion of a
  ``quantize``: bpftrace's ``hist()`` puts every negative value in one bucket, so negative
  values go, negated, into ``hist()`` in the companion map (same keys); its bucket
  ``[m, M]`` is DTrace's bucket ``[-M, -m+1)``. bpftrace 0.17 also mislabels hist
  buckets at or above 2**31 in its output, so values with ``|v| >= 2**31`` go, shifted
  right by 31 (:data:`HIGH_SHIFT`), to ``"high"`` (``hist(v >> 31)``: bucket ``[m, M]`` is
  ``[m * 2**31, (M+1) * 2**31)``) or ``"negative_high"`` (``hist(-v >> 31)``: bucket
  ``[m, M]`` is ``[-(M+1) * 2**31 + 1, -m * 2**31 + 1)``). Power-of-two edges survive the
  shift, so the four maps together give DTrace's buckets exactly; :func:`quantize_bucket`
  turns a printed bucket of any of the four into DTrace's ``[lo, hi)``. ``"sumsq"`` maps are the
  companions of a ``stddev`` (main map: ``stats(v)``, same keys): DTrace sums the squares
  in 128 bits, so each square is cut into 32-bit limbs and map ``params=(k,)`` sums limb
  ``k`` (weight ``2**(32*k)``, ``k`` = 0..3); :func:`sum_of_squares` adds them back and
  :func:`dtrace_stddev` computes the value as DTrace does.
* ``MapInfo.negated``: the map holds ``-v`` (bpftrace 0.17 loses ``max()`` of negative
  values, so ``max(v)`` is lowered to ``min(-v)``): the collector reports ``-value``.
* ``lquantize(v, lo, hi, step)`` is ``lhist(v - value_offset, lo', hi', step)``:
  bpftrace's lhist needs ``min >= 0``, so for ``lo < 0`` the values are shifted by
  ``-lo`` and ``MapInfo.value_offset = lo`` must be added back to every bucket edge.
  ``params`` keeps D's ``(lo, hi, step)``; the top bucket starts at
  ``lo + ((hi - lo) // step) * step`` as in DTrace.
* ``llquantize(v, factor, lo, hi, steps)`` is ``lhist(index, 0, N, 1)`` of DTrace's bucket
  index (computed in the program), ``params = (factor, lo, hi, steps)``;
  :func:`llquantize_bounds` gives the ``N`` buckets, underflow first, overflow last.
* ``key_kinds``: per key, ``int``, ``str``, ``stack`` (``kstack``), ``ustack``, ``cgroup``
  (cgroup v2 id: the collector resolves it to its path) or ``syscall`` (a syscall number
  from ``raw_syscalls``: the collector resolves it to the name; see
  :func:`.tracepoints.syscall_names`). ``key_names``: the D text of each key.
* With ``interval``, an ``interval`` clause prints every aggregation map, then
  ``printf("__dtscope_snapshot__\\n")`` so the collector can frame snapshots. Maps with
  ``MapInfo.cumulative`` (count, sum, avg, stddev and the quantizes, with their companions)
  are never cleared: each print is the running total and the collector subtracts the
  previous print per key, so no event is lost between a print and a clear. ``avg`` is then
  ``stats()`` (count and total; the collector divides). ``min``/``max`` and aggregations
  the program clears, truncates or normalizes itself are cleared after the print (an event
  landing while bpftrace reads such a map can miss both intervals).
* ``printa(@x)`` prints ``__dtscope_printa_begin__``, the maps of ``@x``, then
  ``__dtscope_printa_end__``: the collector renders them as text, not as snapshot data.
* ``features``: what the program needs from bpftrace and the kernel (``btf``, ``uprobe``,
  ``usdt``, ``kprobe``, ``cpid`` (run with ``-c CMD``), ``positional`` ($1..)...).
"""

from __future__ import annotations

import errno as _errno
import fnmatch
import math
import os
import re
import signal as _signal
import socket as _socket
from dataclasses import dataclass, field

from . import ast as A
from . import bpftrace_tables as T
from . import tracepoints as TP
from .builtins import TIME_UNITS_NS
from .diagnostics import DiagnosticError
from .printer import (
    PREC_ASSIGN,
    PREC_POSTFIX,
    PREC_PRIMARY,
    PREC_UNARY,
    DPrinter,
    Generator,
)

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


@dataclass
class MapInfo:
    bt_name: str  # "@lat" (with the @); "@" for the anonymous aggregation
    aggregation: str  # D name without @; "" for the anonymous aggregation
    function: str  # the D aggregating function
    role: str = "main"  # "main" | "negative", "high", "negative_high" (quantize) | "sumsq" (stddev)
    params: tuple = ()  # lquantize (lo, hi, step); llquantize (factor, lo, hi, steps)
    key_kinds: list[str] = field(default_factory=list)
    key_names: list[str] = field(default_factory=list)
    negated: bool = False  # values are -v (max lowered to min of -v)
    value_offset: int = 0  # lquantize with lo < 0: add to every bucket edge
    # Never cleared by the interval clause: each print is the total since the start, and
    # the collector subtracts the previous print key by key (exact interval snapshots).
    cumulative: bool = False


@dataclass
class BpftraceProgram:
    text: str
    maps: dict[str, MapInfo]
    snapshot_marker: str = SNAPSHOT_MARKER
    features: set[str] = field(default_factory=set)


def lower(
    program: A.Program,
    *,
    interval: float | None = None,
    tracepoint_root: str = TP.DEFAULT_EVENTS_ROOT,
    target_pid: int | None = None,
    target_path: str | None = None,
    cgroup_root: str | None = None,
    macro_args: list[str] | None = None,
    stack_frames: int | None = None,
    ustack_frames: int | None = None,
) -> BpftraceProgram:
    """Lower a D program to bpftrace; raises DiagnosticError listing every problem.

    ``target_pid`` (``-p``) or ``target_path`` (the ``-c`` command's executable) serve
    ``$target`` and the ``pid$target`` / USDT probes; without a pid, ``$target`` is
    bpftrace's ``cpid`` and the program must run with ``bpftrace -c``.

    ``macro_args`` (the run's ``$1``..): substituted as DTrace does when it compiles,
    ``$N`` as an integer (an error when the argument is not one), ``$$N`` as a string
    literal; a missing argument is an error unless the program sets ``defaultargs`` (then
    0 and ""). Without them (``dtscope compile``) ``$N`` stays bpftrace's positional
    parameter. ``stack_frames``/``ustack_frames`` (the ``stackframes``/``ustackframes``
    options) are the depth of ``stack()``/``ustack()`` written without one.
    """
    if interval is not None and interval <= 0:
        raise ValueError("interval must be positive")
    generator = BpftraceGenerator(
        tracepoint_root=tracepoint_root,
        target_pid=target_pid,
        target_path=target_path,
        cgroup_root=cgroup_root or _default_cgroup_root(),
        interval=interval,
    )
    generator.macro_args = None if macro_args is None else list(macro_args)
    generator.default_args = "defaultargs" in program.options()
    generator.stack_frames = {"stack": stack_frames, "ustack": ustack_frames}
    text = generator.generate(program)
    return BpftraceProgram(text=text, maps=dict(generator.maps), features=set(generator.features))


def _default_cgroup_root() -> str:
    # cgroup v2 is mounted at /sys/fs/cgroup/unified on hybrid hosts.
    unified = "/sys/fs/cgroup/unified"
    return unified if os.path.isdir(unified) and os.listdir(unified) else "/sys/fs/cgroup"


# --------------------------------------------------------------------------- quantize


def quantize_bucket(role: str, low: int, high: int) -> tuple[int, int]:
    """DTrace's ``[lo, hi)`` for the bucket ``[low, high]`` that bpftrace printed for a quantize map.

    ``role`` is the map's ``MapInfo.role``: ``main`` holds ``v``, ``negative`` holds ``-v``,
    ``high`` holds ``v >> 31`` and ``negative_high`` holds ``-v >> 31``. For the high
    roles every value in the bucket ``[low, high]`` stands for ``[low << 31, (high+1) << 31)``.
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


# --------------------------------------------------------------------------- llquantize


def llquantize_bounds(
    factor: int, low: int, high: int, steps: int
) -> list[tuple[int | None, int | None]]:
    """DTrace's llquantize buckets as ``[lo, hi)`` pairs: underflow, the log-linear steps, overflow."""
    bounds: list[tuple[int | None, int | None]] = [(None, factor**low)]
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
    """The bucket index DTrace's dtrace_aggregate_llquantize_bucket() computes (reference)."""
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


def _llquantize_index_expr(var: str, factor: int, low: int, high: int, steps: int) -> str:
    """A bpftrace expression computing llquantize_index() of the scratch variable ``var``."""
    this = factor**low
    pieces: list[tuple[str, str]] = [(f"{var} < {this}", "0")]
    base, last = 1, this
    this *= factor
    for _order in range(low, high + 1):
        nbuckets = min(steps, this)
        width = this // nbuckets
        # here var >= last: an unsigned division is exact
        pieces.append((f"{var} < {this}", f"{base} + (int64)((uint64)({var} - {last}) / {width})"))
        base += nbuckets - nbuckets // factor
        last, this = this, this * factor
    text = str(base)
    for cond, value in reversed(pieces):
        text = f"({cond} ? {value} : {text})"
    return text


# --------------------------------------------------------------------------- the generator


@dataclass
class _AggDecl:
    name: str
    function: str
    params: tuple = ()
    key_count: int | None = None
    node: A.AggStmt | None = None


class _Context:
    """The probe a clause body is being lowered for."""

    def __init__(
        self,
        target: T.ProbeTarget,
        desc: A.ProbeDesc,
        *,
        is_return: bool = False,
        errno_expr: str | None = None,
        probefunc: T.Served | None = None,
    ) -> None:
        self.target = target
        self.desc = desc
        self.is_return = is_return
        self.errno_expr = errno_expr
        self.probefunc = probefunc
        self.normalized: dict[str, tuple[str, A.Node]] = {}  # D agg name -> divisor text
        self.pending_normalize: dict[str, A.Node] = {}
        self.typed_args: dict[
            int, T.Served
        ] = {}  # args[i] where they differ from argN (typed fields)


_D_PRINTER = DPrinter()
_PRINTF_SPEC = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?(?P<len>hh|h|ll|l|L|z|j|t)?(?P<conv>[a-zA-Z@%])"
)
_RATE_PROBE = re.compile(r"^(?P<kind>tick|profile)-(?P<n>\d+)(?P<unit>[a-z]*)$")
_PID_PROVIDER = re.compile(r"^pid(?P<pid>\d+|\$target)?$")
_USDT_PROVIDER = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*?)(?P<pid>\d+|\$target)?$")


def _d_text(node: A.Node) -> str:
    if isinstance(node, A.Expr):
        return _D_PRINTER.expr(node)
    return type(node).__name__


def _bt_string(value: str) -> str:
    """A bpftrace string literal (quotes included) holding exactly ``value``.

    bpftrace reads the same escapes as D, so D's spelling serves both.
    """
    return '"' + A.encode_string(value) + '"'


def _histogram_constant(node: A.Expr) -> int | None:
    """A constant that a quantize counts in its main map alone (no companions needed)."""
    constant = _int_literal(node)
    return constant if constant is not None and 0 <= constant < (1 << HIGH_SHIFT) else None


def _int_literal(node: A.Expr | None) -> int | None:
    if isinstance(node, A.IntLit):
        return node.value
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, A.IntLit):
        return -node.operand.value
    if isinstance(node, A.Unary) and node.op == "+" and isinstance(node.operand, A.IntLit):
        return node.operand.value
    return None


def _library_constant(name: str) -> int | None:
    """Values of the D library constants that mean the same on Linux (errno, signals...)."""
    if name in T.D_CONSTANTS:
        return T.D_CONSTANTS[name]
    if re.fullmatch(r"E[A-Z0-9]+", name) and hasattr(_errno, name):
        return int(getattr(_errno, name))
    if (
        re.fullmatch(r"SIG[A-Z0-9]+", name)
        and hasattr(_signal, name)
        and name not in ("SIG_DFL", "SIG_IGN")
    ):
        return int(getattr(_signal, name))
    if re.fullmatch(r"(AF|IPPROTO)_[A-Z0-9]+", name) and hasattr(_socket, name):
        return int(getattr(_socket, name))
    if re.fullmatch(r"O_[A-Z]+|SEEK_(SET|CUR|END)", name) and hasattr(os, name):
        return int(getattr(os, name))
    return {
        "NULL": 0,
        "TRUE": 1,
        "FALSE": 0,
        "B_TRUE": 1,
        "B_FALSE": 0,
        "NANOSEC": 1_000_000_000,
        "MICROSEC": 1_000_000,
        "MILLISEC": 1_000,
    }.get(name)


@dataclass
class _ClausePart:
    """One D clause lowered for one bpftrace probe: its condition and statements (indented once)."""

    probe: str
    comment: str
    condition: str | None
    statements: str


@dataclass
class _Section:
    """Every part that lowers to one bpftrace probe: one bpftrace clause."""

    probe: str
    parts: list[_ClausePart] = field(default_factory=list)

    def render(self, indent: str) -> str:
        if len(self.parts) == 1 and self.probe not in ("BEGIN", "END"):
            part = self.parts[0]
            head = [part.comment, self.probe] + ([f"/{part.condition}/"] if part.condition else [])
            return (
                "\n".join(head)
                + "\n{\n"
                + (part.statements + "\n" if part.statements else "")
                + "}"
            )
        lines = []
        for part in self.parts:
            lines.append(indent + part.comment)
            if part.condition is None:
                if part.statements:
                    lines.append(part.statements)
                continue
            inner = (
                "\n".join(indent + line for line in part.statements.split("\n"))
                if part.statements
                else ""
            )
            lines.append(
                f"{indent}if ({part.condition}) {{"
                + ("\n" + inner if inner else "")
                + f"\n{indent}}}"
            )
        return self.probe + "\n{\n" + "\n".join(lines) + "\n}"


class BpftraceGenerator(Generator):
    """The bpftrace target: overrides what differs from canonical D."""

    indent = "    "
    target_name = "bpftrace"

    def __init__(
        self,
        *,
        tracepoint_root: str,
        target_pid: int | None,
        target_path: str | None,
        cgroup_root: str,
        interval: float | None,
    ) -> None:
        super().__init__()
        self.tracepoint_root = tracepoint_root
        self.target_pid = target_pid
        self.target_path = target_path
        self.cgroup_root = cgroup_root.rstrip("/")
        self.interval = interval
        self.maps: dict[str, MapInfo] = {}
        self.features: set[str] = set()
        self.aggs: dict[str, _AggDecl] = {}
        self.internal_maps: list[str] = []
        self.var_kinds: dict[str, str] = {}  # "self:x" / "this:x" / "global:x" -> kind
        self.shared_this: set[str] = (
            set()
        )  # this-> variables read by a clause that did not set them
        self.inlines: dict[str, A.Expr] = {}
        self.ctx: _Context | None = None
        self.temp_counter = 0
        self.macro_args: list[str] | None = None
        self.default_args = False
        self.stack_frames: dict[str, int | None] = {}
        # Aggregations the program clears, truncates or normalizes itself: their prints
        # are not running totals, so intervals clear them as before (see interval_clause).
        self.reset_by_program: set[str] = set()

    # ------------------------------------------------------------------ errors

    def generate(self, program: A.Program) -> str:
        text = self.program(program)
        if self.problems:
            unique, seen = [], set()
            for p in self.problems:
                key = (p.code, p.message, str(p.span))
                if key not in seen:
                    seen.add(key)
                    unique.append(p)
            raise DiagnosticError(unique)
        return text

    def fail(self, message: str, node: A.Node | None) -> tuple[str, int]:
        return self.unsupported(message, node, code="D_BPFTRACE"), PREC_PRIMARY

    # ------------------------------------------------------------------ program

    def program(self, program: A.Program) -> str:
        self.prepare(program)
        # D clauses that lower to the same bpftrace probe become one bpftrace clause, each
        # predicate an if, in program order: bpftrace 0.17 allows one BEGIN and one END, D
        # runs the clauses of one firing in order, and one BPF program per tracepoint
        # costs less (to attach and per event) than several.
        order: list[str | _Section] = ["// generated by dtscope from D: do not edit"]
        sections: dict[str, _Section] = {}
        for item in program.items:
            if isinstance(item, A.Clause):
                for part in self.clause_parts(item):
                    section = sections.get(part.probe)
                    if section is None:
                        section = sections[part.probe] = _Section(part.probe)
                        order.append(section)
                    section.parts.append(part)
                continue
            text = self.item(item)
            if text:
                order.append(text)
        if self.interval is not None:
            order.append(self.interval_clause())
        if self.internal_maps:
            clears = "\n".join(f"{self.indent}clear({m});" for m in self.internal_maps)
            cleanup = _ClausePart(
                "END",
                "// the program's own variables are not data: keep them out of the exit dump",
                None,
                clears,
            )
            if "END" not in sections:
                sections["END"] = _Section("END")
                order.append(sections["END"])
            sections["END"].parts.append(cleanup)
        texts = [
            entry.render(self.indent) if isinstance(entry, _Section) else entry for entry in order
        ]
        return "\n\n".join(texts) + "\n"

    def prepare(self, program: A.Program) -> None:
        """Everything the clauses need to know about the whole program before lowering one."""
        for item in program.items:
            if isinstance(item, A.Inline) and item.declarator.name:
                self.inlines[item.declarator.name] = item.value
        for clause in program.clauses:
            assigned: set[str] = set()
            self._scan_this(clause.predicate, assigned)
            for stmt in clause.body:
                self._scan_this(stmt, assigned)
        for node in program.walk():
            if isinstance(node, A.Assign):
                slot = self._var_slot(node.target)
                if slot and (slot not in self.var_kinds or self.var_kinds[slot] == "int"):
                    zero = node.op == "=" and _int_literal(node.value) == 0
                    self.var_kinds[slot] = (
                        "int" if zero or node.op != "=" else self.kind_of(node.value)
                    )
            elif isinstance(node, (A.Postfix, A.Unary)) and node.op in ("++", "--"):
                slot = self._var_slot(node.operand)
                if slot:
                    self.var_kinds.setdefault(slot, "int")
            elif isinstance(node, A.Decl) and not node.storage:
                for declarator in node.declarators:
                    if declarator.name and declarator.params is None:
                        kind = "str" if node.type.name == "string" else "int"
                        self.var_kinds.setdefault(
                            ("array:" if declarator.arrays else "global:") + declarator.name, kind
                        )
            elif isinstance(node, A.AggStmt) and node.name not in self.aggs:
                self.aggs[node.name] = _AggDecl(node.name, node.func, node=node)
            elif (
                isinstance(node, A.Call)
                and node.func in RESETTING_ACTIONS
                and node.args
                and isinstance(node.args[0], A.AggRef)
            ):
                self.reset_by_program.add(node.args[0].name)
        for name in self.aggs:
            if name.startswith(("__", SUMSQ_PREFIX)) or any(
                p and name.startswith(p) for p in COMPANION_PREFIXES.values()
            ):
                self.unsupported(
                    f"aggregation name @{name} is reserved by the bpftrace lowering",
                    self.aggs[name].node,
                    "D_BPFTRACE",
                )

    def _scan_this(self, node: A.Node | None, assigned: set[str]) -> None:
        if node is None:
            return
        if isinstance(node, A.Assign):
            self._scan_this(node.value, assigned)
            if isinstance(node.target, A.ClauseVar):
                assigned.add(node.target.name)
            else:
                self._scan_this(node.target, assigned)
            return
        if isinstance(node, A.ClauseVar):
            if node.name not in assigned:
                self.shared_this.add(node.name)
            return
        for child in node.children():
            self._scan_this(child, assigned)

    def _var_slot(self, node: A.Expr) -> str | None:
        if isinstance(node, A.ThreadVar):
            return "self:" + node.name
        if isinstance(node, A.ClauseVar):
            return "this:" + node.name
        if isinstance(node, A.Ident):
            return "global:" + node.name
        if (
            isinstance(node, A.Index)
            and isinstance(node.base, A.Ident)
            and node.base.name != "args"
        ):
            return "array:" + node.base.name
        return None

    # ------------------------------------------------------------------ items

    def item_Pragma(self, node: A.Pragma) -> str:
        return ""  # options tune DTrace's buffers and output; none changes what is measured

    def item_Decl(self, node: A.Decl) -> str:
        return ""  # bpftrace infers types; declarations only fix them

    def item_Inline(self, node: A.Inline) -> str:
        return ""  # substituted where used

    def item_Translator(self, node: A.Translator) -> str:
        self.unsupported("translators have no bpftrace counterpart", node, "D_BPFTRACE")
        return ""

    def item_Provider(self, node: A.Provider) -> str:
        self.unsupported(
            "provider declarations (USDT definitions) are not D programs bpftrace can run",
            node,
            "D_BPFTRACE",
        )
        return ""

    def clause_parts(self, node: A.Clause) -> list[_ClausePart]:
        """One part per bpftrace probe serving this D clause (a D probe may need several)."""
        out = []
        for desc in node.probes:
            for ctx in self.resolve_probe(desc):
                out.append(self.clause_for(node, ctx))
        return out

    def clause_for(self, node: A.Clause, ctx: _Context) -> _ClausePart:
        self.ctx = ctx
        self.features |= set(ctx.target.features)
        where = f" ({node.span})" if node.span else ""
        conditions = []
        if ctx.target.filter:
            conditions.append(ctx.target.filter)
        if node.predicate is not None:
            conditions.append(
                self.expr(node.predicate, 6 if conditions else 0)
            )  # binds tighter than &&
        statements = "\n".join(s for s in (self.stmt(x, 1) for x in node.body) if s)
        for name, call in ctx.pending_normalize.items():
            self.unsupported(
                f"normalize(@{name}) only translates when printa(@{name}) follows in the same clause "
                "(bpftrace divides when it prints)",
                call,
                "D_BPFTRACE",
            )
        self.ctx = None
        return _ClausePart(
            ctx.target.bt_probe,
            f"// {ctx.desc.text}{where}",
            " && ".join(conditions) or None,
            statements,
        )

    # ------------------------------------------------------------------ probes

    def resolve_probe(self, desc: A.ProbeDesc) -> list[_Context]:
        text = desc.text
        if text in ("BEGIN", "END", ":::BEGIN", "dtrace:::BEGIN", ":::END", "dtrace:::END"):
            name = text.rsplit(":", 1)[-1]
            return [
                _Context(
                    T.ProbeTarget(
                        name,
                        "dtrace",
                        "",
                        "",
                        name,
                        no_args=f"{name} has no arguments",
                        features=frozenset(),
                    ),
                    desc,
                )
            ]
        prov, mod, func, name = desc.fields
        if "ERROR" == name and prov in ("", "dtrace"):
            self.unsupported("the ERROR probe has no bpftrace counterpart", desc, "D_BPFTRACE")
            return []
        rate = _RATE_PROBE.match(name)
        if rate and prov in ("", "profile") and not mod and not func:
            return self.rate_probe(desc, rate)
        if prov == "syscall":
            return self.syscall_probes(desc, func, name)
        if prov == "fbt":
            return self.fbt_probes(desc, func, name)
        if prov == "tcp":
            if name in T.TCP_UNSUPPORTED:
                self.unsupported(T.TCP_UNSUPPORTED[name], desc, "D_BPFTRACE")
                return []
            targets = T.tcp_targets(name)
            if targets is None:
                self.unsupported(
                    f"tcp:::{name} is not a tcp probe bpftrace can serve", desc, "D_BPFTRACE"
                )
                return []
            return [_Context(t, desc) for t in targets if self.check_tracepoint(t, desc)]
        if (prov, name) in T.STATIC_PROBES:
            target = T.STATIC_PROBES[(prov, name)]
            return [_Context(target, desc)] if self.check_tracepoint(target, desc) else []
        if prov in (
            "proc",
            "sched",
            "io",
            "ip",
            "profile",
            "dtrace",
            "lockstat",
            "sdt",
            "fsinfo",
            "sysinfo",
            "vminfo",
            "mib",
            "cpc",
            "fpuinfo",
            "plockstat",
        ):
            self.unsupported(
                f"{prov}:::{name or '*'} has no faithful bpftrace counterpart", desc, "D_BPFTRACE"
            )
            return []
        pid_match = _PID_PROVIDER.match(prov)
        if pid_match:
            return self.pid_probes(desc, pid_match.group("pid"), mod, func, name)
        usdt = _USDT_PROVIDER.match(prov)
        if usdt and not any(ch in prov for ch in "*?["):
            return self.usdt_probes(desc, usdt.group("name"), usdt.group("pid"), mod, func, name)
        self.unsupported(f"probe {text} has no bpftrace counterpart", desc, "D_BPFTRACE")
        return []

    def check_tracepoint(self, target: T.ProbeTarget, desc: A.ProbeDesc) -> bool:
        if not target.bt_probe.startswith("tracepoint:"):
            return True
        _, category, event = target.bt_probe.split(":")
        fmt = TP.read_format(category, event, self.tracepoint_root)
        if fmt is None:
            self.unsupported(
                f"{desc.text} needs the tracepoint {category}:{event}, which this kernel does not have",
                desc,
                "D_BPFTRACE",
            )
            return False
        if (
            target.filter
            and "args->group_dead" in target.filter
            and fmt.field("group_dead") is None
        ):
            self.unsupported(
                f"{desc.text}: this kernel's {category}:{event} cannot tell a process's last thread "
                "(no group_dead field)",
                desc,
                "D_BPFTRACE",
            )
            return False
        return True

    def rate_probe(self, desc: A.ProbeDesc, rate: re.Match) -> list[_Context]:
        kind, n, unit = rate.group("kind"), int(rate.group("n")), rate.group("unit") or "hz"
        bt_kind = "interval" if kind == "tick" else "profile"
        if n <= 0:
            self.unsupported(f"{desc.text}: the rate must be positive", desc, "D_BPFTRACE")
            return []
        if unit == "hz":
            spec = f"{bt_kind}:hz:{n}"
        elif unit in TIME_UNITS_NS:
            ns = n * TIME_UNITS_NS[unit]
            if ns % 1_000_000_000 == 0:
                spec = f"{bt_kind}:s:{ns // 1_000_000_000}"
            elif ns % 1_000_000 == 0:
                spec = f"{bt_kind}:ms:{ns // 1_000_000}"
            elif ns % 1_000 == 0:
                spec = f"{bt_kind}:us:{ns // 1_000}"
            else:
                self.unsupported(
                    f"{desc.text}: bpftrace timers have microsecond resolution", desc, "D_BPFTRACE"
                )
                return []
        else:
            self.unsupported(f"{desc.text}: unknown time unit {unit!r}", desc, "D_BPFTRACE")
            return []
        reason = f"{kind}-N probes' arguments (the interrupted PCs) are not available from bpftrace"
        target = T.ProbeTarget(
            spec,
            "profile",
            "",
            "",
            rate.group(0),
            no_args=reason,
            features=frozenset({"profile" if kind == "profile" else "interval"}),
        )
        if kind == "tick":
            # A timer on one CPU: the interrupted thread is not known.
            target = T.ProbeTarget(
                spec,
                "profile",
                "",
                "",
                rate.group(0),
                no_args=reason,
                features=target.features,
                forbidden={
                    v: f"{v} is not meaningful in a tick probe under bpftrace (interval probes "
                    "run in no particular thread)"
                    for v in ("stack", "ustack")
                },
            )
        return [_Context(target, desc)]

    def syscall_probes(self, desc: A.ProbeDesc, func: str, name: str) -> list[_Context]:
        names = ["entry", "return"] if name in ("", "*") else [name]
        if any(n not in ("entry", "return") for n in names):
            self.unsupported(
                f"syscall probes are named entry or return, not {name!r}", desc, "D_BPFTRACE"
            )
            return []
        out: list[_Context] = []
        if func in ("", "*"):
            for n in names:
                out.append(self.raw_syscall_context(desc, n))
            return out
        available = TP.syscall_tracepoints(self.tracepoint_root)
        if any(ch in func for ch in "*?["):
            matches = [s for s in available if fnmatch.fnmatchcase(s, func)]
            if not matches:
                self.unsupported(
                    f"{desc.text} matches no syscall tracepoint on this kernel", desc, "D_BPFTRACE"
                )
        else:
            matches = [func]
            if func not in available:
                self.unsupported(
                    f"this kernel has no tracepoint for syscall {func!r} (syscalls:sys_enter_{func})",
                    desc,
                    "D_BPFTRACE",
                )
                return []
        for syscall in matches:
            for n in names:
                ctx = self.syscall_context(desc, syscall, n)
                if ctx:
                    out.append(ctx)
        return out

    def syscall_context(self, desc: A.ProbeDesc, syscall: str, name: str) -> _Context | None:
        event = ("sys_enter_" if name == "entry" else "sys_exit_") + syscall
        fmt = TP.read_format("syscalls", event, self.tracepoint_root)
        if fmt is None:
            self.unsupported(
                f"cannot read the format of tracepoint syscalls:{event}", desc, "D_BPFTRACE"
            )
            return None
        if name == "entry":
            # argN are integers in D: pointers become their address.
            args = {
                i: ((f"(uint64)args->{f.name}" if f.is_pointer else f"args->{f.name}"), "int")
                for i, f in enumerate(fmt.fields)
            }
            typed = {
                i: (f"args->{f.name}", "str" if f.is_string else "int")
                for i, f in enumerate(fmt.fields)
            }
            target = T.ProbeTarget(
                f"tracepoint:syscalls:{event}",
                "syscall",
                "",
                syscall,
                name,
                args=args,
                no_args=f"syscall {syscall} has {len(fmt.fields)} argument(s)",
            )
            ctx = _Context(target, desc)
            ctx.typed_args = typed
            return ctx
        ret = ("args->ret", "int")
        target = T.ProbeTarget(
            f"tracepoint:syscalls:{event}",
            "syscall",
            "",
            syscall,
            name,
            args={0: ret, 1: ret},
            no_args="a syscall return probe has arg0 and arg1 (the return value) only",
        )
        return _Context(target, desc, is_return=True, errno_expr="(args->ret < 0 ? -args->ret : 0)")

    def raw_syscall_context(self, desc: A.ProbeDesc, name: str) -> _Context:
        syscall_nr: T.Served = ("args->id", "syscall")
        if name == "entry":
            target = T.ProbeTarget(
                "tracepoint:raw_syscalls:sys_enter",
                "syscall",
                "",
                "",
                name,
                args={i: (f"args->args[{i}]", "int") for i in range(6)},
                no_args="syscall:::entry has arg0..arg5",
            )
            return _Context(target, desc, probefunc=syscall_nr)
        ret = ("args->ret", "int")
        target = T.ProbeTarget(
            "tracepoint:raw_syscalls:sys_exit",
            "syscall",
            "",
            "",
            name,
            args={0: ret, 1: ret},
            no_args="a syscall return probe has arg0 and arg1 (the return value) only",
        )
        return _Context(
            target,
            desc,
            is_return=True,
            errno_expr="(args->ret < 0 ? -args->ret : 0)",
            probefunc=syscall_nr,
        )

    def fbt_probes(self, desc: A.ProbeDesc, func: str, name: str) -> list[_Context]:
        if not TP.kprobes_available(self.tracepoint_root):
            self.unsupported(
                f"{desc.text}: fbt probes need kprobes, and this kernel has none "
                f"(no {os.path.join(TP.tracing_root(self.tracepoint_root), 'kprobe_events')}); "
                "use a tracepoint-based provider (syscall, proc, sched, io, tcp)",
                desc,
                "D_BPFTRACE",
            )
            return []
        if name not in ("entry", "return") or not func or any(ch in func for ch in "?["):
            self.unsupported(
                f"{desc.text}: fbt probes are lowered for FUNC:entry and FUNC:return only",
                desc,
                "D_BPFTRACE",
            )
            return []
        if name == "entry":
            target = T.ProbeTarget(
                f"kprobe:{func}",
                "fbt",
                "",
                func,
                name,
                args={i: (f"arg{i}", "int") for i in range(6)},
                features=frozenset({"kprobe"}),
            )
            return [_Context(target, desc)]
        target = T.ProbeTarget(
            f"kretprobe:{func}",
            "fbt",
            "",
            func,
            name,
            args={1: ("retval", "int")},
            no_args="an fbt return probe's arg0 (the return offset) is not available; arg1 is",
            features=frozenset({"kprobe"}),
        )
        return [_Context(target, desc)]

    def _target_binary(
        self, desc: A.ProbeDesc, pid_text: str | None, module: str
    ) -> tuple[str | None, str | None]:
        """(binary path, pid filter expression) for a user-space probe."""
        pid: int | None = None
        pid_expr: str | None = None
        if pid_text == "$target":
            if self.target_pid is not None:
                pid, pid_expr = self.target_pid, str(self.target_pid)
            else:
                pid_expr = "cpid"
                self.features.add("cpid")
        elif pid_text:
            pid, pid_expr = int(pid_text), pid_text
        if module in ("", "a.out", "*"):
            if self.target_path:
                return self.target_path, pid_expr
            if pid is not None:
                return f"/proc/{pid}/exe", pid_expr
            self.unsupported(
                f"{desc.text}: the program's executable is unknown (give a pid with -p, or the command with -c)",
                desc,
                "D_BPFTRACE",
            )
            return None, None
        if module.startswith("/"):
            return module, pid_expr
        # A running process (-p): what it has mapped; -c: the command is not running yet,
        # so what its loader would map.
        if pid is not None or self.target_path:
            for lib in _shared_objects(self.target_path or "", pid):
                if _module_matches(os.path.basename(lib), module):
                    return lib, pid_expr
        self.unsupported(
            f"{desc.text}: cannot locate module {module!r} (write its full path, or give a running pid)",
            desc,
            "D_BPFTRACE",
        )
        return None, None

    def pid_probes(
        self, desc: A.ProbeDesc, pid_text: str | None, module: str, func: str, name: str
    ) -> list[_Context]:
        if not pid_text:
            self.unsupported(
                f"{desc.text}: the pid provider needs a process (pid$target or pidNNN)",
                desc,
                "D_BPFTRACE",
            )
            return []
        if name not in ("entry", "return") or not func or any(ch in func for ch in "*?["):
            self.unsupported(
                f"{desc.text}: pid probes are lowered for FUNC:entry and FUNC:return only",
                desc,
                "D_BPFTRACE",
            )
            return []
        if module in ("", "*"):
            # DTrace's pid provider with no module matches the function in every object of
            # the process: the executable first, then its shared libraries (libc...).
            paths, pid_expr = self._objects_defining(desc, pid_text, func)
        else:
            path, pid_expr = self._target_binary(desc, pid_text, module)
            paths = [path] if path else []
        return [ctx for path in paths for ctx in self._pid_contexts(desc, path, pid_expr, module, func, name)]

    def _objects_defining(
        self, desc: A.ProbeDesc, pid_text: str | None, func: str
    ) -> tuple[list[str], str | None]:
        """(objects of the target that define ``func``, pid filter expression)."""
        exe, pid_expr = self._target_binary(desc, pid_text, "")
        if exe is None:
            return [], None
        pid = self.target_pid if pid_text == "$target" else (int(pid_text) if pid_text and pid_text.isdigit() else None)
        objects = [exe] + [lib for lib in _shared_objects(exe, pid) if lib != exe]
        found = [path for path in objects if _elf_defines(path, func)]
        # Not found (a stripped executable, a process not running yet...): the executable,
        # as before, and bpftrace says so if it cannot resolve the symbol either.
        return found or [exe], pid_expr

    def _pid_contexts(
        self, desc: A.ProbeDesc, path: str, pid_expr: str | None, module: str, func: str, name: str
    ) -> list[_Context]:
        filt = f"pid == {pid_expr}" if pid_expr else None
        if module in ("", "*"):
            module = os.path.basename(path)  # probemod names the object the probe is in
        if name == "entry":
            target = T.ProbeTarget(
                f"uprobe:{path}:{func}",
                desc.provider,
                module,
                func,
                name,
                filter=filt,
                args={i: (f"arg{i}", "int") for i in range(6)},
                features=frozenset({"uprobe"}),
            )
        else:
            target = T.ProbeTarget(
                f"uretprobe:{path}:{func}",
                desc.provider,
                module,
                func,
                name,
                filter=filt,
                args={1: ("retval", "int")},
                no_args="a pid return probe's arg0 (the return offset) is not available; arg1 is",
                features=frozenset({"uprobe"}),
            )
        return [_Context(target, desc)]

    def usdt_probes(
        self,
        desc: A.ProbeDesc,
        provider: str,
        pid_text: str | None,
        module: str,
        func: str,
        name: str,
    ) -> list[_Context]:
        if not name or any(ch in name + provider for ch in "*?["):
            self.unsupported(
                f"{desc.text}: USDT probes need a provider and a probe name without wildcards",
                desc,
                "D_BPFTRACE",
            )
            return []
        path, pid_expr = self._target_binary(desc, pid_text, module)
        if path is None:
            return []
        elf_name = name.replace("-", "__")  # DTrace spells the ELF note's "__" as "-"
        filt = f"pid == {pid_expr}" if pid_expr else None
        target = T.ProbeTarget(
            f"usdt:{path}:{provider}:{elf_name}",
            desc.provider,
            module,
            func,
            name,
            filter=filt,
            args={i: (f"arg{i}", "int") for i in range(10)},
            features=frozenset({"usdt"}),
        )
        return [_Context(target, desc)]

    # ------------------------------------------------------------------ statements

    def body(self, stmts: list[A.Stmt], depth: int) -> str:
        pad = self.indent * depth
        inner = [self.stmt(s, depth + 1) for s in stmts]
        inner = [s for s in inner if s]
        if not inner:
            return pad + "{\n" + pad + "}"
        return pad + "{\n" + "\n".join(inner) + "\n" + pad + "}"

    def stmt_Block(self, node: A.Block, depth: int) -> str:
        # bpftrace 0.17 has no bare blocks; D's block only groups.
        return "\n".join(s for s in (self.stmt(x, depth) for x in node.body) if s)

    def stmt_ExprStmt(self, node: A.ExprStmt, depth: int) -> str:
        pad = self.indent * depth
        expr = node.expr
        if isinstance(expr, A.Assign):
            return pad + self.assignment(expr) + ";"
        if isinstance(expr, (A.Postfix, A.Unary)) and expr.op in ("++", "--"):
            if self._var_slot(expr.operand) is None:
                return (
                    pad
                    + self.fail(f"{expr.op} applies to variables only in bpftrace", expr)[0]
                    + ";"
                )
            return pad + self.expr(expr.operand, PREC_POSTFIX) + expr.op + ";"
        if isinstance(expr, A.Call):
            action = getattr(self, "action_" + expr.func, None)
            if action is not None:
                text = action(expr)
                return "\n".join(pad + line for line in text.split("\n")) if text else ""
        return pad + self.expr(expr) + ";"

    def assignment(self, node: A.Assign) -> str:
        slot = self._var_slot(node.target)
        if slot is None:
            return self.fail(f"cannot assign to {_d_text(node.target)} in bpftrace", node.target)[0]
        target = self.expr(node.target, PREC_UNARY)
        if (
            node.op == "="
            and _int_literal(node.value) == 0
            and slot.split(":")[0] in ("self", "array")
        ):
            # D frees a dynamic variable set to 0; reading it again gives 0 in both.
            return f"delete({target})"
        if node.op in ("/=", "%="):
            return f"{target} = {self.signed_division(node.op[0], node.target, node.value)}"
        if node.op not in ("=", "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>="):
            return self.fail(f"assignment operator {node.op} has no bpftrace counterpart", node)[0]
        return f"{target} {node.op} {self.expr(node.value, PREC_ASSIGN)}"

    # ------------------------------------------------------------------ aggregations

    def stmt_AggStmt(self, node: A.AggStmt, depth: int) -> str:
        pad = self.indent * depth
        decl = self.aggs.get(node.name)
        if decl is None or decl.function != node.func:
            first = decl.function if decl else "?"
            return (
                pad
                + self.fail(f"@{node.name} is used with both {first}() and {node.func}()", node)[0]
            )
        if decl.key_count is not None and decl.key_count != len(node.keys):
            return (
                pad
                + self.fail(
                    f"@{node.name} is used with {decl.key_count} and {len(node.keys)} keys", node
                )[0]
            )
        decl.key_count = len(node.keys)
        kinds = [self.kind_of(k) for k in node.keys]
        names = [_d_text(k) for k in node.keys]
        keys = [self.expr(k, PREC_ASSIGN) for k in node.keys]
        lines = getattr(self, "agg_" + node.func, self.agg_unknown)(node, keys, kinds, names)
        return "\n".join(pad + line for line in lines)

    def register_map(
        self, node: A.AggStmt, role: str, kinds: list[str], names: list[str], **extra
    ) -> str:
        bt = self.bt_map_name(node.name, role, extra["params"][0] if role == "sumsq" else 0)
        info = self.maps.get(bt)
        extra.setdefault("cumulative", self.is_cumulative(node.name, node.func))
        fresh = MapInfo(
            bt, node.name, node.func, role, key_kinds=list(kinds), key_names=list(names), **extra
        )
        if info is None:
            self.maps[bt] = fresh
        elif (info.params, info.negated, info.value_offset) != (
            fresh.params,
            fresh.negated,
            fresh.value_offset,
        ):
            self.unsupported(
                f"@{node.name} is used with different {node.func}() parameters", node, "D_BPFTRACE"
            )
        elif any(a != b and "str" in (a, b) for a, b in zip(info.key_kinds, fresh.key_kinds)):
            self.unsupported(
                f"@{node.name}: a key is a string in one place and a number in another",
                node,
                "D_BPFTRACE",
            )
        return bt

    def is_cumulative(self, name: str, function: str) -> bool:
        """Whether @name's maps keep running totals that the collector turns into intervals."""
        return function in CUMULATIVE_FUNCTIONS and name not in self.reset_by_program

    @staticmethod
    def bt_map_name(name: str, role: str, part: int = 0) -> str:
        if role == "sumsq":
            return f"@{SUMSQ_PREFIX}{part}_{name}"
        return "@" + COMPANION_PREFIXES[role] + name

    def map_ref(self, bt: str, keys: list[str]) -> str:
        return f"{bt}[{', '.join(keys)}]" if keys else bt

    def temp(self, prefix: str) -> str:
        self.temp_counter += 1
        return f"$__{prefix}{self.temp_counter}"

    def agg_unknown(self, node, keys, kinds, names) -> list[str]:
        return [
            self.fail(f"{node.func}() is not an aggregating function bpftrace can serve", node)[0]
        ]

    def _plain(self, node, keys, kinds, names, bt_func: str, arity: int, **extra) -> list[str]:
        if len(node.args) != arity:
            return [self.fail(f"{node.func}() takes {arity} argument(s)", node)[0]]
        bt = self.register_map(node, "main", kinds, names, **extra)
        args = ", ".join(self.expr(a, PREC_ASSIGN) for a in node.args)
        return [f"{self.map_ref(bt, keys)} = {bt_func}({args});"]

    def agg_count(self, node, keys, kinds, names):
        return self._plain(node, keys, kinds, names, "count", 0)

    def agg_sum(self, node, keys, kinds, names):
        return self._plain(node, keys, kinds, names, "sum", 1)

    def agg_avg(self, node, keys, kinds, names):
        if self.is_cumulative(node.name, "avg"):
            # stats() prints the count and the total: the collector computes the average
            # of the whole run or of one interval (total / count, truncated as in DTrace).
            return self._plain(node, keys, kinds, names, "stats", 1)
        return self._plain(node, keys, kinds, names, "avg", 1)

    def agg_min(self, node, keys, kinds, names):
        return self._plain(node, keys, kinds, names, "min", 1)

    def agg_max(self, node, keys, kinds, names):
        # bpftrace 0.17's max() starts from 0 and so loses negative maxima; min() does not.
        if len(node.args) != 1:
            return [self.fail("max() takes 1 argument", node)[0]]
        bt = self.register_map(node, "main", kinds, names, negated=True)
        return [f"{self.map_ref(bt, keys)} = min(-({self.expr(node.args[0], PREC_ASSIGN)}));"]

    def agg_stddev(self, node, keys, kinds, names):
        # DTrace sums the squares in 128 bits. Here each square is cut into 32-bit limbs,
        # each summed in its own map (sumsq, params=(k,): the limb of weight 2**(32*k)),
        # so no sum overflows before 2**30 values per key; the collector adds them back exactly.
        if len(node.args) != 1:
            return [self.fail("stddev() takes 1 argument", node)[0]]
        main = self.register_map(node, "main", kinds, names)
        limbs = [
            self.map_ref(self.register_map(node, "sumsq", kinds, names, params=(k,)), keys)
            for k in range(SUMSQ_LIMBS)
        ]
        value, magnitude, high, low, product = (self.temp(x) for x in ("v", "m", "a", "b", "p"))
        i = self.indent
        mask = "0xffffffff"

        def add(square: str, limb: int) -> list[str]:
            return [
                f"{limbs[limb]} = sum({square} & {mask});",
                f"{limbs[limb + 1]} = sum({square} >> 32);",
            ]

        return [
            f"{value} = {self.expr(node.args[0], PREC_ASSIGN)};",
            f"{self.map_ref(main, keys)} = stats({value});",
            f"{magnitude} = (uint64)({value} < 0 ? -{value} : {value});",
            f"if ({magnitude} >> 32) {{",
            f"{i}{high} = {magnitude} >> 32;",
            f"{i}{low} = {magnitude} & {mask};",
            f"{i}{product} = {low} * {low};",
            *(i + line for line in add(product, 0)),
            f"{i}{product} = {high} * {low} * 2;",
            *(i + line for line in add(product, 1)),
            f"{i}{product} = {high} * {high};",
            *(i + line for line in add(product, 2)),
            "} else {",
            f"{i}{product} = {magnitude} * {magnitude};",
            *(i + line for line in add(product, 0)),
            "}",
        ]

    def _increment_is_one(self, node: A.AggStmt, arg: A.Expr | None) -> bool:
        if arg is None or _int_literal(arg) == 1:
            return True
        self.unsupported(
            f"{node.func}() with an increment other than 1 has no bpftrace counterpart "
            "(bpftrace histograms count one per call)",
            arg,
            "D_BPFTRACE",
        )
        return False

    def agg_quantize(self, node, keys, kinds, names):
        if not 1 <= len(node.args) <= 2:
            return [self.fail("quantize() takes 1 or 2 arguments", node)[0]]
        if not self._increment_is_one(node, node.args[1] if len(node.args) == 2 else None):
            return []
        main = self.register_map(node, "main", kinds, names)
        constant = _histogram_constant(node.args[0])
        if constant is not None:
            return [f"{self.map_ref(main, keys)} = hist({constant});"]
        negative = self.register_map(node, "negative", kinds, names)
        high = self.register_map(node, "high", kinds, names)
        negative_high = self.register_map(node, "negative_high", kinds, names)
        value = self.temp("q")
        limit = 1 << HIGH_SHIFT
        i = self.indent
        return [
            f"{value} = {self.expr(node.args[0], PREC_ASSIGN)};",
            f"if ({value} < 0) {{",
            f"{i}{value} = -{value};",
            f"{i}if ({value} < {limit}) {{",
            f"{i}{i}{self.map_ref(negative, keys)} = hist({value});",
            f"{i}}} else {{",
            f"{i}{i}{self.map_ref(negative_high, keys)} = hist({value} >> {HIGH_SHIFT});",
            f"{i}}}",
            f"}} else if ({value} < {limit}) {{",
            f"{i}{self.map_ref(main, keys)} = hist({value});",
            "} else {",
            f"{i}{self.map_ref(high, keys)} = hist({value} >> {HIGH_SHIFT});",
            "}",
        ]

    def agg_lquantize(self, node, keys, kinds, names):
        if not 3 <= len(node.args) <= 5:
            return [self.fail("lquantize() takes 3 to 5 arguments", node)[0]]
        bounds = [_int_literal(a) for a in node.args[1:4]]
        if any(b is None for b in bounds):
            return [self.fail("lquantize() bounds and step must be integer constants", node)[0]]
        lo, hi = bounds[0], bounds[1]
        step = bounds[2] if len(node.args) >= 4 else 1
        assert lo is not None and hi is not None and step is not None
        if step <= 0 or hi <= lo:
            return [self.fail("lquantize() needs lower < upper and a positive step", node)[0]]
        if not self._increment_is_one(node, node.args[4] if len(node.args) == 5 else None):
            return []
        levels = (hi - lo) // step
        offset = min(0, lo)
        bt = self.register_map(
            node, "main", kinds, names, params=(lo, hi, step), value_offset=offset
        )
        value = self.expr(node.args[0], PREC_ASSIGN)
        if offset:
            value = f"{self.expr(node.args[0], 14)} - ({offset})"
        # The top bucket starts at lo + levels*step, as in DTrace, even when step does not divide hi - lo.
        return [
            f"{self.map_ref(bt, keys)} = lhist({value}, {lo - offset}, {lo - offset + levels * step}, {step});"
        ]

    def agg_llquantize(self, node, keys, kinds, names):
        if not 5 <= len(node.args) <= 6:
            return [self.fail("llquantize() takes 5 or 6 arguments", node)[0]]
        params = [_int_literal(a) for a in node.args[1:5]]
        if any(p is None for p in params):
            return [
                self.fail(
                    "llquantize() factor, magnitudes and steps must be integer constants", node
                )[0]
            ]
        factor, low, high, steps = params  # type: ignore[misc]
        problem = llquantize_problem(factor, low, high, steps)
        if problem:
            return [self.fail(problem, node)[0]]
        if not self._increment_is_one(node, node.args[5] if len(node.args) == 6 else None):
            return []
        count = len(llquantize_bounds(factor, low, high, steps))
        bt = self.register_map(node, "main", kinds, names, params=(factor, low, high, steps))
        value = self.temp("v")
        return [
            f"{value} = {self.expr(node.args[0], PREC_ASSIGN)};",
            f"{self.map_ref(bt, keys)} = lhist({_llquantize_index_expr(value, factor, low, high, steps)}, 0, {count}, 1);",
        ]

    # ------------------------------------------------------------------ actions

    def agg_maps(self, arg: A.Expr, action: str) -> list[str] | None:
        if not isinstance(arg, A.AggRef):
            self.unsupported(f"{action}() takes an aggregation", arg, "D_BPFTRACE")
            return None
        decl = self.aggs.get(arg.name)
        if decl is None:
            self.unsupported(f"@{arg.name} is never aggregated in this program", arg, "D_BPFTRACE")
            return None
        names = [self.bt_map_name(arg.name, "main")]
        if decl.function == "quantize":
            # A quantize of a small constant has no companions (bpftrace rejects undefined maps).
            companions = [self.bt_map_name(arg.name, r) for r in ("negative", "high", "negative_high")]
            names += [bt for bt in companions if bt in self.maps or not self._constant_quantize(decl)]
        elif decl.function == "stddev":
            names += [self.bt_map_name(arg.name, "sumsq", k) for k in range(SUMSQ_LIMBS)]
        return names

    @staticmethod
    def _constant_quantize(decl: _AggDecl) -> bool:
        node = decl.node
        return node is not None and bool(node.args) and _histogram_constant(node.args[0]) is not None

    def action_printf(self, node: A.Call) -> str:
        if not node.args or not isinstance(node.args[0], A.StrLit):
            return self.fail("printf() needs a constant format string", node)[0]
        fmt, args = self.printf_parts(node.args[0], node.args[1:], node)
        return f"printf({', '.join([fmt] + args)});"

    def printf_parts(
        self, format_node: A.StrLit, values: list[A.Expr], node: A.Node
    ) -> tuple[str, list[str]]:
        text = format_node.value
        # Tokens: literal text, or a conversion already in bpftrace spelling.
        tokens: list[tuple[str, str]] = []
        out_args: list[str] = []
        pos = 0
        remaining = list(values)
        for m in _PRINTF_SPEC.finditer(text):
            tokens.append(("text", text[pos : m.start()]))
            pos = m.end()
            conv = m.group("conv")
            if conv == "%":
                tokens.append(("text", "%"))
                continue
            if m.group("width") == "*" or m.group("prec") == "*":
                self.unsupported(
                    "printf() widths taken from arguments (*) have no bpftrace counterpart",
                    node,
                    "D_BPFTRACE",
                )
                continue
            if conv in T.PRINTF_UNSUPPORTED:
                self.unsupported(T.PRINTF_UNSUPPORTED[conv], node, "D_BPFTRACE")
                continue
            if not remaining:
                self.unsupported(
                    f"printf(): too few arguments for the format {format_node.text!r}",
                    node,
                    "D_BPFTRACE",
                )
                continue
            arg = remaining.pop(0)
            spec = (
                "%"
                + m.group("flags")
                + (m.group("width") or "")
                + (f".{m.group('prec')}" if m.group("prec") else "")
            )
            if conv == "Y":
                if not (isinstance(arg, A.Ident) and arg.name == "walltimestamp"):
                    self.unsupported(
                        'printf("%Y") is lowered for walltimestamp only', arg, "D_BPFTRACE"
                    )
                    continue
                tokens.append(("conv", spec + "s"))
                out_args.append(f"strftime({_bt_string(T.WALLTIME_FORMAT)}, nsecs)")
                continue
            if conv not in T.PRINTF_SAME:
                self.unsupported(
                    f"printf() conversion %{conv} has no bpftrace counterpart", node, "D_BPFTRACE"
                )
                continue
            kind = self.kind_of(arg)
            if conv == "s" and isinstance(arg, A.Call) and arg.func == "strjoin" and spec == "%":
                # bpftrace cannot concatenate strings, but it can print the pieces side by side.
                for piece in self._strjoin_pieces(arg):
                    tokens.append(("conv", "%s"))
                    out_args.append(self.expr(piece, PREC_ASSIGN))
                continue
            if kind in ("cgroup", "syscall"):
                self.unsupported(
                    f"{_d_text(arg)} is a number in bpftrace ({kind} id): it can be an aggregation key, "
                    "not printed as a string",
                    arg,
                    "D_BPFTRACE",
                )
                continue
            if kind in ("stack", "ustack") and conv != "s":
                self.unsupported("stacks print with %s only", arg, "D_BPFTRACE")
                continue
            tokens.append(("conv", spec + ("d" if conv == "i" else conv)))
            out_args.append(self.expr(arg, PREC_ASSIGN))
        tokens.append(("text", text[pos:]))
        if remaining:
            self.unsupported("printf(): more arguments than conversions", node, "D_BPFTRACE")
        return _bt_string(self._bt_format(tokens, node)), out_args

    def _bt_format(self, tokens: list[tuple[str, str]], node: A.Node) -> str:
        """Join format tokens the way bpftrace 0.17 reads them.

        bpftrace passes the text up to its last conversion through snprintf (where a
        literal % is %%) but prints the text after it as is (where %% stays %%).
        """
        last_conv = max((i for i, (kind, _) in enumerate(tokens) if kind == "conv"), default=-1)
        out = []
        for i, (kind, value) in enumerate(tokens):
            if kind == "conv":
                out.append(value)
            elif i < last_conv:
                out.append(value.replace("%", "%%"))
            else:
                out.append(value)
        joined = "".join(out)
        tail = "".join(v for i, (k, v) in enumerate(tokens) if i > last_conv)
        if re.search(r"%[-+ #0-9.a-zA-Z%]", tail):
            self.unsupported(
                "a literal % followed by a conversion character after printf()'s last conversion "
                "cannot be written for bpftrace 0.17",
                node,
                "D_BPFTRACE",
            )
        return joined

    def _strjoin_pieces(self, node: A.Expr) -> list[A.Expr]:
        if isinstance(node, A.Call) and node.func == "strjoin" and len(node.args) == 2:
            return self._strjoin_pieces(node.args[0]) + self._strjoin_pieces(node.args[1])
        return [node]

    def action_printa(self, node: A.Call) -> str:
        if node.args and isinstance(node.args[0], A.StrLit):
            return self.fail(
                "printa() with a format string has no bpftrace counterpart (bpftrace prints maps its own way)",
                node,
            )[0]
        lines = []
        for arg in node.args:
            maps = self.agg_maps(arg, "printa")
            if maps is None:
                continue
            assert isinstance(arg, A.AggRef)
            divisor = self.ctx.normalized.get(arg.name) if self.ctx else None
            if self.ctx:
                self.ctx.pending_normalize.pop(arg.name, None)
            for bt in maps:
                lines.append(f"print({bt}, 0, {divisor[0]});" if divisor else f"print({bt});")
        if not lines:
            return ""
        # The markers tell the collector that these prints are the program's output (text),
        # not snapshot data.
        return "\n".join(
            [f"printf({_bt_string(PRINTA_BEGIN + chr(10))});", *lines, f"printf({_bt_string(PRINTA_END + chr(10))});"]
        )

    def action_trace(self, node: A.Call) -> str:
        if len(node.args) != 1:
            return self.fail("trace() takes one argument", node)[0]
        if self.kind_of(node.args[0]) in ("cgroup", "syscall"):
            return self.fail(
                f"{_d_text(node.args[0])} is a number in bpftrace; it cannot be traced as a string",
                node,
            )[0]
        return f"print({self.expr(node.args[0], PREC_ASSIGN)});"

    def action_exit(self, node: A.Call) -> str:
        status = _int_literal(node.args[0]) if len(node.args) == 1 else None
        if status != 0:
            return self.fail(
                "bpftrace 0.17's exit() takes no status: only exit(0) translates", node
            )[0]
        return "exit();"

    def action_clear(self, node: A.Call) -> str:
        if len(node.args) != 1:
            return self.fail("clear() takes one aggregation", node)[0]
        maps = self.agg_maps(node.args[0], "clear")
        # D's clear() zeroes the values and keeps the keys: bpftrace's zero().
        return "\n".join(f"zero({m});" for m in maps or [])

    def action_trunc(self, node: A.Call) -> str:
        if len(node.args) != 1:
            return self.fail(
                "trunc() with a count (keep the top N) has no bpftrace counterpart", node
            )[0]
        maps = self.agg_maps(node.args[0], "trunc")
        # D's trunc() removes the keys: bpftrace's clear().
        return "\n".join(f"clear({m});" for m in maps or [])

    def action_normalize(self, node: A.Call) -> str:
        if len(node.args) != 2:
            return self.fail("normalize() takes an aggregation and a divisor", node)[0]
        if self.agg_maps(node.args[0], "normalize") is None or self.ctx is None:
            return ""
        assert isinstance(node.args[0], A.AggRef)
        decl = self.aggs[node.args[0].name]
        if (
            decl.function in ("stddev", "quantize", "lquantize", "llquantize")
            or decl.function == "max"
        ):
            return self.fail(
                f"normalize() of a {decl.function}() aggregation has no faithful bpftrace counterpart",
                node,
            )[0]
        self.ctx.normalized[node.args[0].name] = (self.expr(node.args[1], PREC_ASSIGN), node)
        self.ctx.pending_normalize[node.args[0].name] = node
        return ""

    def action_denormalize(self, node: A.Call) -> str:
        if (
            len(node.args) != 1
            or self.agg_maps(node.args[0], "denormalize") is None
            or self.ctx is None
        ):
            return ""
        assert isinstance(node.args[0], A.AggRef)
        self.ctx.normalized.pop(node.args[0].name, None)
        self.ctx.pending_normalize.pop(node.args[0].name, None)
        return ""

    def action_stack(self, node: A.Call) -> str:
        return f'printf("%s\\n", {self.expr(node)});'

    def action_ustack(self, node: A.Call) -> str:
        return f'printf("%s\\n", {self.expr(node)});'

    def action_system(self, node: A.Call) -> str:
        return self.fail("system() is not lowered to bpftrace (it would need --unsafe)", node)[0]

    # ------------------------------------------------------------------ expressions

    def resolve_ident(self, node: A.Ident) -> T.Served | None:
        """(bpftrace text, kind) of a name, or None after reporting why it cannot be served."""
        name = node.name
        ctx = self.ctx
        target = ctx.target if ctx else None
        if target and name in target.forbidden:
            self.unsupported(target.forbidden[name], node, "D_BPFTRACE")
            return None
        if name in ("probeprov", "probemod", "probefunc", "probename"):
            if name == "probefunc" and ctx and ctx.probefunc:
                return ctx.probefunc
            if target is None:
                self.unsupported(f"{name} outside a clause", node, "D_BPFTRACE")
                return None
            value = {
                "probeprov": target.prov,
                "probemod": target.mod,
                "probefunc": target.func,
                "probename": target.name,
            }[name]
            return _bt_string(value), "str"
        m = re.fullmatch(r"arg(\d)", name)
        if m:
            index = int(m.group(1))
            if target and index in target.args:
                return target.args[index]
            self.unsupported(
                f"{name}: {target.no_args if target else 'no probe'}", node, "D_BPFTRACE"
            )
            return None
        if name == "errno":
            if ctx and ctx.errno_expr:
                return ctx.errno_expr, "int"
            self.unsupported(T.UNSUPPORTED_VARIABLES["errno"], node, "D_BPFTRACE")
            return None
        if target and name in target.variables:
            return target.variables[name]
        if name in T.BUILTIN_VARIABLES:
            if name in T.VARIABLES_NEEDING_BTF:
                self.need_btf(node, name)
            return T.BUILTIN_VARIABLES[name]
        if name in T.UNSUPPORTED_VARIABLES:
            self.unsupported(T.UNSUPPORTED_VARIABLES[name], node, "D_BPFTRACE")
            return None
        if name in self.inlines:
            return self.expr(self.inlines[name], PREC_PRIMARY), self.kind_of(self.inlines[name])
        if "global:" + name in self.var_kinds:
            bt = self.internal("@__g_" + name)
            return bt, self.var_kinds["global:" + name]
        constant = _library_constant(name)
        if constant is not None:
            return str(constant), "int"
        if name in ("args", "curpsinfo", "curlwpsinfo", "curthread"):
            self.unsupported(
                f"{name} is only lowered through its members or elements", node, "D_BPFTRACE"
            )
            return None
        self.unsupported(
            f"{name} has no bpftrace counterpart (unknown or never assigned)", node, "D_BPFTRACE"
        )
        return None

    def need_btf(self, node: A.Node, what: str) -> None:
        self.features.add("btf")
        if not TP.btf_available():
            self.unsupported(
                f"{what} needs the kernel's BTF (/sys/kernel/btf/vmlinux), which this kernel lacks",
                node,
                "D_BPFTRACE",
            )

    def internal(self, bt: str) -> str:
        if bt not in self.internal_maps:
            self.internal_maps.append(bt)
        return bt

    def expr_Ident(self, node: A.Ident) -> tuple[str, int]:
        served = self.resolve_ident(node)
        if served is None:
            return "0", PREC_PRIMARY
        return served[0], PREC_PRIMARY

    def expr_IntLit(self, node: A.IntLit) -> tuple[str, int]:
        return str(node.value), PREC_PRIMARY

    def expr_FloatLit(self, node: A.FloatLit) -> tuple[str, int]:
        return self.fail("bpftrace has no floating point", node)

    def expr_StrLit(self, node: A.StrLit) -> tuple[str, int]:
        return _bt_string(node.value), PREC_PRIMARY

    def expr_CharLit(self, node: A.CharLit) -> tuple[str, int]:
        return str(node.value), PREC_PRIMARY

    def expr_KernelSym(self, node: A.KernelSym) -> tuple[str, int]:
        return self.fail("kernel symbols (`name) are not lowered to bpftrace", node)

    def expr_MacroArg(self, node: A.MacroArg) -> tuple[str, int]:
        if node.name == "target":
            if self.target_pid is not None:
                return str(self.target_pid), PREC_PRIMARY
            self.features.add("cpid")
            return "cpid", PREC_PRIMARY
        if node.name.isdigit() and self.macro_args is not None:
            return self.macro_value(node)
        if node.name.isdigit() and node.name != "0":
            self.features.add("positional")
            return (f"str(${node.name})" if node.string_form else f"${node.name}"), PREC_PRIMARY
        return self.fail(f"${node.name} has no bpftrace counterpart", node)

    def macro_value(self, node: A.MacroArg) -> tuple[str, int]:
        """``$N`` / ``$$N`` of the run's arguments, as literals ($0 is the script's name)."""
        assert self.macro_args is not None
        index = int(node.name)
        if index == 0:
            value: str | None = "script"
        else:
            value = self.macro_args[index - 1] if index <= len(self.macro_args) else None
        if value is None:
            if not self.default_args:
                return self.fail(
                    f"macro argument ${'$' if node.string_form else ''}{index} is not defined "
                    f"(the run has {len(self.macro_args)}; pass them after --, or set the defaultargs option)",
                    node,
                )
            value = "" if node.string_form else "0"
        if node.string_form:
            return _bt_string(value), PREC_PRIMARY
        try:
            number = int(value, 0)
        except ValueError:
            return self.fail(
                f"macro argument ${index} is {value!r}, not an integer (write $${index} for a string)", node
            )
        return (str(number) if number >= 0 else f"({number})"), PREC_PRIMARY

    def expr_ThreadVar(self, node: A.ThreadVar) -> tuple[str, int]:
        key = self.ctx.target.thread_key if self.ctx else "tid"
        return f"{self.internal('@__self_' + node.name)}[{key}]", PREC_PRIMARY

    def expr_ClauseVar(self, node: A.ClauseVar) -> tuple[str, int]:
        if node.name in self.shared_this:
            # Read by a clause that did not set it: it lives between clauses of one firing,
            # which run one after the other on one CPU.
            return f"{self.internal('@__this_' + node.name)}[cpu]", PREC_PRIMARY
        return f"$this_{node.name}", PREC_PRIMARY

    def expr_AggRef(self, node: A.AggRef) -> tuple[str, int]:
        return self.fail("aggregations cannot be read as values", node)

    def expr_Unary(self, node: A.Unary) -> tuple[str, int]:
        if node.op in ("++", "--", "*", "&"):
            return self.fail(
                f"the {node.op} operator is not lowered here (pointers and nested increments)", node
            )
        return super().expr_Unary(node)

    def expr_Postfix(self, node: A.Postfix) -> tuple[str, int]:
        return self.fail(
            f"{node.op} inside an expression has no bpftrace counterpart (use it as a statement)",
            node,
        )

    def expr_Assign(self, node: A.Assign) -> tuple[str, int]:
        return self.fail("assignments inside expressions have no bpftrace counterpart", node)

    def expr_Binary(self, node: A.Binary) -> tuple[str, int]:
        if node.op == ",":
            return self.fail("the comma operator has no bpftrace counterpart", node)
        if node.op == "^^":
            left = self.expr(node.left, 10)
            right = self.expr(node.right, 10)
            return f"(({left}) != 0) != (({right}) != 0)", 10
        if node.op in ("==", "!="):
            special = self.compare_special(node)
            if special is not None:
                return special, 10
        if node.op in ("/", "%"):
            return self.signed_division(node.op, node.left, node.right), PREC_PRIMARY
        return super().expr_Binary(node)

    def signed_division(self, op: str, left: A.Expr, right: A.Expr) -> str:
        """D's ``/`` and ``%`` on signed integers truncate toward zero, as in C.

        BPF divides unsigned (bpftrace 0.17 gives -7 / 2 = -4), so divide the magnitudes
        and put the sign back: the quotient is negative when the signs differ, the
        remainder has the sign of the dividend. Division by zero gives 0 (DTrace: an error).
        """
        a_lit, b_lit = _int_literal(left), _int_literal(right)
        if a_lit is not None and b_lit is not None and b_lit != 0:
            quotient = abs(a_lit) // abs(b_lit) * (-1 if (a_lit < 0) != (b_lit < 0) else 1)
            return str(quotient if op == "/" else a_lit - quotient * b_lit)
        a = self.expr(left, PREC_UNARY + 1)
        b = self.expr(right, PREC_UNARY + 1)
        a_abs = str(abs(a_lit)) if a_lit is not None else f"(uint64)({a} < 0 ? -{a} : {a})"
        b_abs = str(abs(b_lit)) if b_lit is not None else f"(uint64)({b} < 0 ? -{b} : {b})"
        magnitude = f"(int64)({a_abs} {op} {b_abs})"
        a_negative: bool | str = (a_lit < 0) if a_lit is not None else f"{a} < 0"
        b_negative: bool | str = (b_lit < 0) if b_lit is not None else f"{b} < 0"
        negative: bool | str
        if op == "%" or b_negative is False:
            negative = a_negative
        elif b_negative is True:
            negative = (not a_negative) if isinstance(a_negative, bool) else f"!({a_negative})"
        elif isinstance(a_negative, bool):
            negative = b_negative if not a_negative else f"!({b_negative})"
        else:
            negative = f"({a_negative}) != ({b_negative})"
        if negative is False:
            return f"({magnitude})"
        if negative is True:
            return f"(-{magnitude})"
        return f"(({negative}) ? -{magnitude} : {magnitude})"

    def compare_special(self, node: A.Binary) -> str | None:
        """String comparisons that bpftrace answers with numbers: zonename, raw syscall names."""
        for this, other in ((node.left, node.right), (node.right, node.left)):
            if not isinstance(other, A.StrLit) or not isinstance(this, A.Ident):
                continue
            kind = self.kind_of(this)
            if kind == "cgroup":
                # SmartOS's global zone is what holds every process outside a zone: on Linux,
                # the root cgroup (the cgroup2 mount itself).
                relative = "" if other.value == "global" else other.value.strip("/")
                path = self.cgroup_root + ("/" + relative if relative else "")
                self.features.add("cgroup")
                return f"{self.expr(this, 11)} {node.op} cgroupid({_bt_string(path)})"
            if kind == "syscall":
                number = TP.syscall_numbers().get(other.value)
                if number is None:
                    self.unsupported(
                        f"no syscall named {other.value!r} on this machine (asm/unistd_64.h)",
                        other,
                        "D_BPFTRACE",
                    )
                    return "0"
                return f"{self.expr(this, 11)} {node.op} {number}"
        if self.kind_of(node.left) in ("cgroup", "syscall") or self.kind_of(node.right) in (
            "cgroup",
            "syscall",
        ):
            self.unsupported(
                "zonename and the probefunc of syscall:::entry/return compare with string constants only",
                node,
                "D_BPFTRACE",
            )
            return "0"
        return None

    def expr_Call(self, node: A.Call) -> tuple[str, int]:
        name = node.func
        args = node.args
        if name in ("stack", "ustack"):
            if self.ctx and name in self.ctx.target.forbidden:
                return self.fail(self.ctx.target.forbidden[name], node)
            bt = "kstack" if name == "stack" else "ustack"
            if not args:
                frames = self.stack_frames.get(name)
                return (f"{bt}({frames})", PREC_POSTFIX) if frames else (bt, PREC_PRIMARY)
            depth = _int_literal(args[0])
            if depth is None or depth <= 0:
                return self.fail(f"{name}() depth must be a positive integer constant", node)
            return f"{bt}({depth})", PREC_POSTFIX
        if name == "copyinstr":
            if not 1 <= len(args) <= 2:
                return self.fail("copyinstr() takes 1 or 2 arguments", node)
            return "str(" + ", ".join(self.expr(a, PREC_ASSIGN) for a in args) + ")", PREC_POSTFIX
        if name == "strjoin":
            return self.fail(
                'strjoin() is lowered only as a printf("%s") argument (bpftrace 0.17 cannot concatenate strings)',
                node,
            )
        if name == "strlen":
            return self.fail("strlen() has no bpftrace 0.17 counterpart", node)
        if name == "inet_ntoa":
            return self.fail(
                "inet_ntoa() takes a pointer, which the lowering does not follow; use the tcp/ip probes' address members",
                node,
            )
        if name in T.STRING_FUNCTIONS_UNSUPPORTED:
            return self.fail(T.STRING_FUNCTIONS_UNSUPPORTED[name], node)
        if name in (
            "count",
            "sum",
            "avg",
            "min",
            "max",
            "stddev",
            "quantize",
            "lquantize",
            "llquantize",
        ):
            return self.fail(
                f"{name}() is an aggregating function: use it as @name[keys] = {name}(...)", node
            )
        return self.fail(f"{name}() has no bpftrace counterpart", node)

    def expr_Index(self, node: A.Index) -> tuple[str, int]:
        if isinstance(node.base, A.Ident) and node.base.name == "args":
            served = self.arg_element(node)
            return (served[0] if served else "0"), PREC_PRIMARY
        if isinstance(node.base, A.Ident) and node.base.name not in T.BUILTIN_VARIABLES:
            bt = self.internal("@__a_" + node.base.name)
            keys = ", ".join(self.expr(k, PREC_ASSIGN) for k in node.indices)
            return f"{bt}[{keys}]", PREC_PRIMARY
        return self.fail(f"{_d_text(node)}: only associative arrays and args[] are lowered", node)

    def arg_element(self, node: A.Index) -> T.Served | None:
        index = _int_literal(node.indices[0]) if len(node.indices) == 1 else None
        if index is None:
            self.unsupported("args[] needs a constant index", node, "D_BPFTRACE")
            return None
        typed = self.ctx.typed_args if self.ctx else {}
        if index in typed:
            return typed[index]
        if self.ctx and self.ctx.target.prov == "syscall" and index in self.ctx.target.args:
            return self.ctx.target.args[index]
        reason = self.ctx.target.no_args if self.ctx else "no probe"
        self.unsupported(f"args[{index}]: {reason}", node, "D_BPFTRACE")
        return None

    def expr_Member(self, node: A.Member) -> tuple[str, int]:
        served = self.resolve_member(node)
        return (served[0] if served else "0"), PREC_PRIMARY

    def resolve_member(self, node: A.Member) -> T.Served | None:
        base = node.base
        if isinstance(base, A.Ident) and base.name in ("curpsinfo", "curlwpsinfo"):
            key = (base.name, node.name)
            target = self.ctx.target if self.ctx else None
            if target and base.name in target.forbidden:
                self.unsupported(target.forbidden[base.name], node, "D_BPFTRACE")
                return None
            if target and key == ("curlwpsinfo", "pr_lwpid") and "tid" in target.variables:
                return target.variables["tid"]
            if key in T.UNSUPPORTED_MEMBERS:
                self.unsupported(T.UNSUPPORTED_MEMBERS[key], node, "D_BPFTRACE")
                return None
            if key in T.CURRENT_MEMBERS:
                text, kind = T.CURRENT_MEMBERS[key]
                if "curtask" in text:
                    self.need_btf(node, f"{base.name}->{node.name}")
                return text, kind
            self.unsupported(
                f"{base.name}->{node.name} has no bpftrace counterpart", node, "D_BPFTRACE"
            )
            return None
        if (
            isinstance(base, A.Index)
            and isinstance(base.base, A.Ident)
            and base.base.name == "args"
        ):
            index = _int_literal(base.indices[0]) if len(base.indices) == 1 else None
            target = self.ctx.target if self.ctx else None
            if target is not None and index is not None and (index, node.name) in target.members:
                return target.members[(index, node.name)]
            if target is None:
                self.unsupported(f"args[{index}]->{node.name} outside a clause", node, "D_BPFTRACE")
                return None
            served = ", ".join(f"args[{i}]->{m}" for i, m in target.members)
            probe = f"{target.prov}:::{target.name}"
            detail = f"it serves {served}" if served else target.no_args
            self.unsupported(
                f"args[{index}]->{node.name} is not available from bpftrace in {probe}; {detail}",
                node,
                "D_BPFTRACE",
            )
            return None
        self.unsupported(
            f"{_d_text(node)}: following pointers and structures is not lowered to bpftrace",
            node,
            "D_BPFTRACE",
        )
        return None

    def expr_Cast(self, node: A.Cast) -> tuple[str, int]:
        spec = node.type.spec.name
        if node.type.pointers or node.type.arrays or not isinstance(spec, str):
            return self.fail(
                f"cast to {self.type_name(node.type)} is not lowered to bpftrace", node
            )
        if spec == "string":
            if self.kind_of(node.operand) == "str":
                return self.expr(node.operand, PREC_UNARY), PREC_UNARY
            return self.fail("casting a number to string has no bpftrace counterpart", node)
        bt = T.INTEGER_CASTS.get(spec)
        if bt is None:
            return self.fail(f"cast to {spec} is not lowered to bpftrace", node)
        return f"({bt}){self.expr(node.operand, PREC_UNARY)}", PREC_UNARY

    def expr_SizeOf(self, node: A.SizeOf) -> tuple[str, int]:
        if (
            isinstance(node.operand, A.TypeName)
            and not node.operand.pointers
            and isinstance(node.operand.spec.name, str)
        ):
            bt = T.INTEGER_CASTS.get(node.operand.spec.name)
            if bt:
                return str(T.INTEGER_SIZES[bt]), PREC_PRIMARY
        if isinstance(node.operand, A.TypeName) and node.operand.pointers:
            return "8", PREC_PRIMARY
        return self.fail("sizeof is lowered for integer and pointer types only", node)

    def expr_OffsetOf(self, node: A.OffsetOf) -> tuple[str, int]:
        return self.fail("offsetof is not lowered to bpftrace", node)

    def expr_StringOf(self, node: A.StringOf) -> tuple[str, int]:
        if self.kind_of(node.operand) == "str":
            return self.expr(node.operand, PREC_UNARY), PREC_PRIMARY
        return self.fail("stringof() of a non-string has no bpftrace counterpart", node)

    def expr_Xlate(self, node: A.Xlate) -> tuple[str, int]:
        return self.fail("xlate (translators) has no bpftrace counterpart", node)

    # ------------------------------------------------------------------ kinds

    def kind_of(self, node: A.Expr) -> str:
        """What a value is when it becomes an aggregation key (see MapInfo.key_kinds).

        Reports nothing: the expression's own lowering reports its problems.
        """
        if isinstance(node, (A.StrLit, A.StringOf)):
            return "str"
        if isinstance(node, A.MacroArg) and node.string_form:
            return "str"
        if isinstance(node, A.Call):
            if node.func == "stack":
                return "stack"
            if node.func == "ustack":
                return "ustack"
            if node.func in (
                "copyinstr",
                "strjoin",
                "basename",
                "dirname",
                "substr",
                "lltostr",
                "toupper",
                "tolower",
                "strtok",
                "strstr",
                "strchr",
                "strrchr",
                "inet_ntoa",
                "inet_ntoa6",
                "inet_ntop",
                "cleanpath",
            ):
                return "str"
            return "int"
        if isinstance(node, A.Cast):
            return "str" if node.type.spec.name == "string" else "int"
        if isinstance(node, A.Ident):
            name = node.name
            ctx = self.ctx
            if name in ("probeprov", "probemod", "probename"):
                return "str"
            if name == "probefunc":
                return ctx.probefunc[1] if ctx and ctx.probefunc else "str"
            if ctx and name in ctx.target.variables:
                return ctx.target.variables[name][1]
            if name in T.BUILTIN_VARIABLES:
                return T.BUILTIN_VARIABLES[name][1]
            if name in self.inlines:
                return self.kind_of(self.inlines[name])
            return self.var_kinds.get("global:" + name, "int")
        if isinstance(node, A.ThreadVar):
            return self.var_kinds.get("self:" + node.name, "int")
        if isinstance(node, A.ClauseVar):
            return self.var_kinds.get("this:" + node.name, "int")
        if isinstance(node, A.Index):
            if isinstance(node.base, A.Ident) and node.base.name == "args":
                typed = self.ctx.typed_args if self.ctx else {}
                index = _int_literal(node.indices[0]) if node.indices else None
                if index in typed:
                    return typed[index][1]
                return "int"
            if isinstance(node.base, A.Ident):
                return self.var_kinds.get("array:" + node.base.name, "int")
            return "int"
        if isinstance(node, A.Member):
            base = node.base
            if isinstance(base, A.Ident):
                key = (base.name, node.name)
                if (
                    self.ctx
                    and key == ("curlwpsinfo", "pr_lwpid")
                    and "tid" in self.ctx.target.variables
                ):
                    return "int"
                return T.CURRENT_MEMBERS.get(key, ("", "int"))[1]
            if isinstance(base, A.Index) and self.ctx:
                index = _int_literal(base.indices[0]) if base.indices else None
                return (
                    self.ctx.target.members.get((index, node.name), ("", "int"))[1]
                    if index is not None
                    else "int"
                )
            return "int"
        if isinstance(node, A.Ternary):
            return self.kind_of(node.then)
        return "int"

    # ------------------------------------------------------------------ snapshots

    def interval_clause(self) -> str:
        assert self.interval is not None
        ms = self.interval * 1000
        spec = (
            f"interval:s:{int(self.interval)}"
            if self.interval == int(self.interval)
            else f"interval:ms:{max(1, round(ms))}"
        )
        if self.interval != int(self.interval) and abs(round(ms) - ms) > 1e-6:
            raise ValueError("interval must be a whole number of milliseconds")
        lines = [f"{self.indent}print({m});" for m in self.maps]
        # Running totals are not cleared: an event that lands while bpftrace reads a map
        # would be lost between the print and the clear. min() and max() describe one
        # interval and must start afresh: for them (and for aggregations the program
        # resets itself) that small race remains.
        lines += [f"{self.indent}clear({m});" for m, info in self.maps.items() if not info.cumulative]
        lines.append(f"{self.indent}printf({_bt_string(SNAPSHOT_MARKER + chr(10))});")
        self.features.add("interval")
        return (
            "// one snapshot per interval: print every aggregation (running totals stay, min/max\n"
            "// are cleared), then the marker\n"
            + spec
            + "\n{\n"
            + "\n".join(lines)
            + "\n}"
        )


def _module_matches(base: str, module: str) -> bool:
    """``libc`` and ``libc.so.6`` both name ``libc.so.6``, as DTrace module names do."""
    return base == module or base.startswith((module + ".", module + "-"))


def _shared_objects(exe: str, pid: int | None) -> list[str]:
    """The shared objects of a process (from /proc/PID/maps) or, before it runs, of its executable.

    For an executable we ask the dynamic loader (``ldd``, which runs the loader, not the
    program: the same program dtscope is about to run with ``-c`` anyway).
    """
    if pid is not None:
        found: list[str] = []
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    parts = line.split(None, 5)
                    if len(parts) == 6 and parts[5].startswith("/"):
                        path = parts[5].strip()
                        if path not in found and not path.endswith(" (deleted)"):
                            found.append(path)
        except OSError:
            return []
        return found
    import subprocess

    try:
        out = subprocess.run(
            ["ldd", exe], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    libs = []
    for line in out.splitlines():
        match = re.search(r"=>\s*(/\S+)|^\s*(/\S+)", line)
        if match:
            libs.append(match.group(1) or match.group(2))
    return libs


_ELF_FUNC_TYPES = (2, 10)  # STT_FUNC, STT_GNU_IFUNC


def _elf_defines(path: str, symbol: str) -> bool:
    """Whether the 64-bit ELF file at ``path`` defines the function ``symbol`` (.symtab or .dynsym)."""
    return symbol in _elf_functions(path)


_ELF_CACHE: dict[tuple[str, float], frozenset[str]] = {}


def _elf_functions(path: str) -> frozenset[str]:
    """Names of the functions an ELF64 little-endian object defines; empty for anything else."""
    import struct

    try:
        key = (path, os.stat(path).st_mtime)
        if key in _ELF_CACHE:
            return _ELF_CACHE[key]
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return frozenset()
    names: set[str] = set()
    if data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        for _name, kind, _f, _a, offset, size, link, _i, _al, entsize in sections:
            if kind not in (2, 11) or not entsize or link >= len(sections):  # SHT_SYMTAB, SHT_DYNSYM
                continue
            strings = sections[link][4]
            for at in range(offset, offset + size, entsize):
                st_name, st_info, _other, st_shndx = struct.unpack_from("<IBBH", data, at)
                if st_shndx and (st_info & 0xF) in _ELF_FUNC_TYPES:
                    end = data.index(b"\0", strings + st_name)
                    names.add(data[strings + st_name : end].decode("utf-8", "replace"))
    result = frozenset(names)
    _ELF_CACHE[key] = result
    return result
