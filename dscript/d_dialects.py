"""D for the DTrace it will run on: one generator per dialect, overriding what differs,
and the snapshot machinery the dtrace backend adds.

* :class:`IllumosD` (illumos, SmartOS, FreeBSD, macOS): the canonical printer as is;
  it has ``if``/``else`` and ``zonename``.
* :class:`OracleD2` (Oracle's DTrace for Linux, ``dtrace -V``: "Oracle D 2.0"): no
  ``if``/``else``, so a clause that has them is lowered to several predicated clauses
  for the same probes (see :func:`lower_if_else`); ``zonename`` and
  ``curpsinfo->pr_psargs`` do not exist there and are reported as unsupported.

Both generators can also record where each line of their output came from
(:meth:`DialectGenerator.generate_mapped`), so that a ``dtrace:`` compile error on
line N of the generated D is reported at the user's file and line.

:func:`lower` gives the program for a dtrace backend: the user's program in the dialect,
then the snapshot machinery (:func:`machinery`, built as clauses of the tree). Each of its
clauses prints a framed snapshot::

    \\036dtscope-NONCE snapshot interval|final TIMESTAMP WALLTIMESTAMP
    \\036dtscope-NONCE agg NAME          (for every aggregation)
    <printa(@NAME) in the default layout>
    \\036dtscope-NONCE end NAME
    ...
    \\036dtscope-NONCE snapshot-end

and the tick clause (with an interval) ``trunc()``\\ s every aggregation after printing it,
so that interval snapshots hold what happened during the interval. The record separator
(``\\036``) and a random nonce make the frame lines impossible to mistake for program
output; :class:`~.lowered.DTraceFraming` tells the collector how to find them.
"""

from __future__ import annotations

import re
import secrets

from . import ast as A
from .aggregations import AggInfo, aggregations_of
from .diagnostics import DiagnosticError
from .lowered import DTRACE_MARKER_PREFIX, DTraceFraming, Lowered, SourceMap
from .printer import DPrinter

_MARK = re.compile("\x00(\\d+)\x01")
TEMP_PREFIX = "_dtscope_"  # clause-local temporaries of the if/else lowering


class DialectGenerator(DPrinter):
    """DPrinter plus feature flags and an optional source map of its output."""

    dialect = "illumos"
    has_if_else = True
    has_zonename = True

    def __init__(self) -> None:
        super().__init__()
        self._mapping = False
        self._marks: list[A.Span] = []

    # -- source mapping: a sentinel before each item and statement, removed afterwards

    def _mark(self, node: A.Node, text: str) -> str:
        if not self._mapping or node.span is None or not text:
            return text
        self._marks.append(node.span)
        return f"\x00{len(self._marks) - 1}\x01" + text

    def item(self, item: A.Item) -> str:
        return self._mark(item, super().item(item))

    def stmt(self, node: A.Stmt, depth: int) -> str:
        return self._mark(node, super().stmt(node, depth))

    def generate_mapped(self, program: A.Program) -> tuple[str, SourceMap]:
        """Like :meth:`generate`, and the source position of every output line."""
        self._mapping, self._marks = True, []
        try:
            marked = self.generate(program)
        finally:
            self._mapping = False
        spans: list[A.Span | None] = []
        lines = []
        for line in marked.split("\n"):
            # The innermost (last) mark on a line is the most precise.
            found = _MARK.findall(line)
            spans.append(self._marks[int(found[-1])] if found else None)
            lines.append(_MARK.sub("", line))
        return "\n".join(lines), SourceMap(spans[: len(lines)])


class IllumosD(DialectGenerator):
    """illumos/SmartOS, FreeBSD and macOS D: the canonical printer."""

    dialect = "illumos"


class OracleD2(DialectGenerator):
    """Oracle's DTrace for Linux (D 2.0): lowers if/else, refuses zonename."""

    dialect = "oracle"
    has_if_else = False
    has_zonename = False

    def __init__(self) -> None:
        super().__init__()
        self._temp_counter = [0]

    def item_Clause(self, node: A.Clause) -> str:
        if not any(isinstance(n, A.If) for n in node.walk()):
            return super().item_Clause(node)
        calls = {n.func for n in node.walk() if isinstance(n, A.Call)}
        if calls & {"speculate", "commit", "discard"}:
            # speculate() binds to its clause: splitting the clause would change what
            # is speculated.
            self.unsupported(
                "if/else in a clause that uses speculations cannot be lowered for Oracle D 2.0 "
                "(which has no if/else)",
                node,
                "D_UNSUPPORTED_IF",
            )
            return super().item_Clause(node)
        clauses = lower_if_else(node, self._temp_counter)
        return "\n\n".join(self._mark(c, super(OracleD2, self).item_Clause(c)) for c in clauses)

    def expr_Ident(self, node: A.Ident) -> tuple[str, int]:
        if node.name == "zonename":
            self.unsupported(
                "zonename is not available in Oracle's D 2.0 (Linux has no zones; "
                "use the bpftrace backend's cgroup mapping or drop the key)",
                node,
                "D_UNSUPPORTED_ZONENAME",
            )
        return super().expr_Ident(node)

    def expr_Member(self, node: A.Member) -> tuple[str, int]:
        if node.name == "pr_psargs" and isinstance(node.base, A.Ident) and node.base.name == "curpsinfo":
            self.unsupported(
                "curpsinfo->pr_psargs is not translated by Oracle's D 2.0", node, "D_UNSUPPORTED_MEMBER"
            )
        return super().expr_Member(node)


DIALECTS: dict[str, type[DialectGenerator]] = {"illumos": IllumosD, "oracle": OracleD2}
MACHINERY_COMMENT = "/* dtscope: snapshot machinery (generated) */"


def dialect_from_version(version_text: str) -> str:
    """The dialect name from ``dtrace -V`` ("dtrace: Oracle D 2.0", "dtrace: Sun D 1.13")."""
    m = re.search(r"Oracle D (\d+)", version_text)
    if m and int(m.group(1)) >= 2:
        return "oracle"
    return "illumos"


def generator_for(dialect: str) -> DialectGenerator:
    try:
        return DIALECTS[dialect]()
    except KeyError:
        raise ValueError(f"unknown D dialect {dialect!r} (known: {', '.join(DIALECTS)})") from None


def to_dialect(program: A.Program, dialect: str) -> str:
    """The program as D for ``dialect``; raises DiagnosticError listing what it lacks."""
    return generator_for(dialect).generate(program)


def lower(
    program: A.Program, dialect: str, *, interval: float | None = None, nonce: str | None = None
) -> Lowered:
    """The program for a dtrace of ``dialect``, with the snapshot machinery after it.

    ``nonce`` names the frames (a fresh random one when None). Raises DiagnosticError
    listing what the dialect lacks.
    """
    text, source_map = generator_for(dialect).generate_mapped(program)
    aggregations = aggregations_of(program)
    nonce = nonce or secrets.token_hex(4)
    user_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    frames = A.Program(machinery(aggregations, nonce, interval))
    full = (
        text
        + ("" if text.endswith("\n") else "\n")
        + "\n"
        + MACHINERY_COMMENT
        + "\n\n"
        + DPrinter().generate(frames)
    )
    return Lowered(
        target=dialect,
        text=full,
        aggregations=aggregations,
        framing=DTraceFraming(nonce, dialect, source_map, user_lines),
        options=dict(program.options()),
    )


# --------------------------------------------------------------------------- snapshot machinery


def tick_probe(seconds: float) -> str:
    """The tick probe that fires every ``seconds`` (whole seconds, else milliseconds)."""
    ms = max(1, round(seconds * 1000))
    return f"tick-{ms // 1000}s" if ms % 1000 == 0 else f"tick-{ms}ms"


def machinery(aggregations: dict[str, AggInfo], nonce: str, interval: float | None) -> list[A.Clause]:
    """The clauses that print framed snapshots: BEGIN (tracing has begun), a tick clause
    (with an interval) and END."""
    mark = DTRACE_MARKER_PREFIX + nonce

    def frame(text: str, *args: A.Expr) -> A.Stmt:
        return _call("printf", A.StrLit(A.encode_string(f"{mark} {text}\n")), *args)

    clock = (A.Ident("timestamp"), A.Ident("walltimestamp"))

    def snapshot(kind: str, truncate: bool) -> list[A.Stmt]:
        body = [frame(f"snapshot {kind} %d %d", *clock)]
        for name in aggregations:
            body += [frame(f"agg {name or '@'}"), _call("printa", A.AggRef(name)), frame(f"end {name or '@'}")]
            if truncate:
                body.append(_call("trunc", A.AggRef(name)))
        return body + [frame("snapshot-end")]

    # Tracing has begun: --duration counts from here, not from dtrace's start-up
    # (compiling against the kernel's types can take seconds).
    clauses = [_clause("BEGIN", [frame("started %d %d", *clock)])]
    if interval is not None:
        clauses.append(_clause(tick_probe(interval), snapshot("interval", True)))
    clauses.append(_clause("END", snapshot("final", False)))
    return clauses


def _call(func: str, *args: A.Expr) -> A.Stmt:
    return A.ExprStmt(A.Call(func, list(args)))


def _clause(probe: str, body: list[A.Stmt]) -> A.Clause:
    return A.Clause([A.ProbeDesc(probe)], None, body)


# --------------------------------------------------------------------------- if/else lowering


def lower_if_else(clause: A.Clause, counter: list[int] | None = None) -> list[A.Clause]:
    """One clause with if/else -> several clauses for the same probes, in order.

    DTrace runs the clauses of one probe in program order and keeps clause-local
    (``this->``) variables across them for the same firing, so:

    * the original predicate is evaluated once, first, into ``this->_dtscope_pN``
      (clause-local variables are not zeroed between firings, so it is always set);
    * the statements before an ``if`` run in a clause guarded by it, which ends by
      evaluating the condition into ``this->_dtscope_cN`` (after those statements, as
      in the original);
    * the ``then`` and ``else`` branches become clauses guarded by the conjunction of
      their enclosing conditions, and the statements after the ``if`` continue under
      the outer guard. Nested ifs nest the conjunction; ``&&`` short-circuits, so a
      condition variable is only read when the clause that set it ran.
    """
    counter = counter if counter is not None else [0]

    def temp(kind: str) -> A.ClauseVar:
        counter[0] += 1
        return A.ClauseVar(f"{TEMP_PREFIX}{kind}{counter[0]}", span=clause.span)

    segments: list[tuple[list[A.Expr], list[A.Stmt]]] = []
    guard: list[A.Expr] = []
    first: list[A.Stmt] = []
    if clause.predicate is not None:
        pred = temp("p")
        first.append(_assign_truth(pred, clause.predicate, clause.predicate.span))
        segments.append(([], first))
        guard = [pred]

    def flatten(stmts: list[A.Stmt], guard: list[A.Expr]) -> None:
        current: list[A.Stmt] = []
        segments.append((guard, current))
        for stmt in stmts:
            if isinstance(stmt, A.Block):
                flatten(stmt.body, guard)
                current = []
                segments.append((guard, current))
            elif isinstance(stmt, A.If):
                cond = temp("c")
                current.append(_assign_truth(cond, stmt.cond, stmt.span))
                flatten(stmt.then, guard + [cond])
                if stmt.other:
                    flatten(stmt.other, guard + [A.Unary("!", cond, span=stmt.span)])
                current = []
                segments.append((guard, current))
            else:
                current.append(stmt)

    flatten(clause.body, guard)
    clauses: list[A.Clause] = []
    for seg_guard, stmts in segments:
        stmts = [s for s in stmts if not isinstance(s, A.EmptyStmt)]
        if not stmts:
            continue
        if clauses and clauses[-1].predicate == _conjunction(seg_guard):
            clauses[-1].body.extend(stmts)  # adjacent segments under one guard
            continue
        span = clause.span if not clauses else (stmts[0].span or clause.span)
        clauses.append(A.Clause(list(clause.probes), _conjunction(seg_guard), list(stmts), span=span))
    return clauses


def _assign_truth(var: A.ClauseVar, cond: A.Expr, span: A.Span | None) -> A.ExprStmt:
    # `c ? 1 : 0` gives an int for any scalar condition (pointers, strings compared...).
    value = A.Ternary(cond, A.IntLit("1"), A.IntLit("0"), span=span)
    return A.ExprStmt(A.Assign("=", var, value, span=span), span=span)


def _conjunction(guard: list[A.Expr]) -> A.Expr | None:
    if not guard:
        return None
    expr = guard[0]
    for term in guard[1:]:
        expr = A.Binary("&&", expr, term)
    return expr


__all__ = [
    "DiagnosticError",
    "DialectGenerator",
    "IllumosD",
    "OracleD2",
    "SourceMap",
    "dialect_from_version",
    "generator_for",
    "lower",
    "lower_if_else",
    "machinery",
    "to_dialect",
]
