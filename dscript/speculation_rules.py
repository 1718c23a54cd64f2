"""D's compile-time rules for speculations: which actions may share a clause.

DTrace classifies each action of a clause as it compiles it, in order, and refuses a
clause where (messages and tags as Oracle's ``dt_cg_clsflags()``, the same in illumos):

============  =========================================================================
D_SPEC_SPEC   ``speculate()`` after ``speculate()``
D_SPEC_COMM   ``speculate()`` after ``commit()``
D_SPEC_DREC   ``speculate()`` after a data-recording or aggregating action
D_COMM_DREC   ``commit()`` after a data-recording or aggregating action
D_AGG_COMM    an aggregation after ``commit()``
D_AGG_SPEC    an aggregation after ``speculate()``
D_ACT_SPEC    a destructive action after ``speculate()``
D_EXIT_SPEC   ``exit()`` after ``speculate()``
D_DREC_COMM   a data-recording action (``exit()`` too) after ``commit()``
============  =========================================================================

``discard()`` mixes with anything. Statements that are not actions (assignments,
subroutine calls such as ``speculation()``) do not count. DTrace stops at the first
error of a program; :func:`check_speculation` reports the first of each clause, in source
order (so its first diagnostic is DTrace's).

It also checks the ``nspec`` and ``specsize`` options as DTrace parses them: one word
after ``option`` (``D_PRAGMA_MALFORM``), ``nspec`` an unsigned integer or a yes/no word,
``specsize`` a size with an optional k/m/g/t suffix (``D_PRAGMA_OPTSET``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import ast as A
from .builtins import FUNCTIONS
from .diagnostics import Diagnostic

# How DTrace classes each action (dt_cg.c's action table, actions_defines.h). copyout
# and copyoutstr are subroutines but mark their clause destructive all the same.
DESTRUCTIVE = frozenset(
    ["stop", "raise", "system", "freopen", "breakpoint", "panic", "chill", "copyout", "copyoutstr"]
)
SPECULATION_ACTIONS = frozenset(["speculate", "commit", "discard"])
ACTIONS = frozenset(name for name, f in FUNCTIONS.items() if f.kind == "action") | DESTRUCTIVE

MESSAGES = {
    "D_SPEC_SPEC": "speculate( ) may not follow speculate( )",
    "D_SPEC_COMM": "speculate( ) may not follow commit( )",
    "D_SPEC_DREC": "speculate( ) may not follow data-recording action(s)",
    "D_COMM_DREC": "commit( ) may not follow data-recording action(s)",
    "D_AGG_COMM": "aggregating actions may not follow commit( )",
    "D_AGG_SPEC": "aggregating actions may not follow speculate( )",
    "D_ACT_SPEC": "destructive actions may not follow speculate( )",
    "D_EXIT_SPEC": "exit( ) may not follow speculate( )",
    "D_DREC_COMM": "data-recording actions may not follow commit( )",
}


class _Clause:
    """The flags DTrace keeps while compiling one clause."""

    def __init__(self) -> None:
        self.speculate = self.commit = self.data = self.aggregation = False

    def add(self, action: str) -> str | None:
        """Record one action (a D function name, or "@" for an aggregation); the tag of
        the rule it breaks, if any (checked in DTrace's order)."""
        if action == "commit":
            self.commit = True
            return "D_COMM_DREC" if self.data or self.aggregation else None
        if action == "discard":
            return None
        if action == "speculate":
            tag = None
            if self.speculate:
                tag = "D_SPEC_SPEC"
            elif self.commit:
                tag = "D_SPEC_COMM"
            elif self.data or self.aggregation:
                tag = "D_SPEC_DREC"
            self.speculate = True
            return tag
        if action == "@":
            tag = "D_AGG_COMM" if self.commit else "D_AGG_SPEC" if self.speculate else None
            self.aggregation = True
            return tag
        tag = None
        if self.speculate and action in DESTRUCTIVE:
            tag = "D_ACT_SPEC"
        elif self.speculate and action == "exit":
            tag = "D_EXIT_SPEC"
        elif self.commit:
            tag = "D_DREC_COMM"
        self.data = True
        return tag


def _actions(statements: list[A.Stmt]) -> Iterator[tuple[str, A.Node]]:
    """The actions of a clause body in the order DTrace compiles them."""
    for statement in statements:
        if isinstance(statement, A.AggStmt):
            yield "@", statement
        elif isinstance(statement, A.ExprStmt):
            for node in statement.expr.walk():
                if isinstance(node, A.Call) and node.func in ACTIONS:
                    yield node.func, node
        elif isinstance(statement, A.If):
            yield from _actions(statement.then)
            yield from _actions(statement.other or [])
        elif isinstance(statement, A.Block):
            yield from _actions(statement.body)


def _option_diagnostics(program: A.Program) -> list[Diagnostic]:
    found = []
    for item in program.items:
        if not (isinstance(item, A.Pragma) and item.option):
            continue
        name, value = item.option
        if name not in _OPTION_VALUES:
            continue
        if len(item.words) > 3:  # "#pragma D option nspec=24 * 44"
            found.append(
                Diagnostic(
                    "D_PRAGMA_MALFORM",
                    "superfluous arguments specified for #pragma option",
                    item.span,
                )
            )
        elif value is not None and not _OPTION_VALUES[name](value):
            found.append(
                Diagnostic(
                    "D_PRAGMA_OPTSET",
                    f"failed to set option '{name}' to '{value}': Invalid value for specified option",
                    item.span,
                )
            )
    return found


_YES_NO = {
    "yes",
    "no",
    "enable",
    "disable",
    "enabled",
    "disabled",
    "true",
    "false",
    "on",
    "off",
    "set",
    "unset",
}
_UNSIGNED = re.compile(r"^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")
_U64 = 1 << 64


def _fits_u64(digits: str) -> bool:
    """An integer as C's strtoull(s, &end, 0) reads it, wholly, and without overflow."""
    if not _UNSIGNED.match(digits):
        return False
    digits = digits.lstrip("+")
    base = 16 if digits[:2].lower() == "0x" else 8 if digits[:1] == "0" else 10
    return int(digits, base) < _U64


def _valid_count(value: str) -> bool:
    """dt_opt_runtime(): empty, a yes/no word, or a non-negative integer that fits."""
    return value == "" or value.lower() in _YES_NO or _fits_u64(value)


def _valid_size(value: str) -> bool:
    """dt_optval_parse(): a non-negative integer with an optional k/m/g/t suffix."""
    return _fits_u64(value[:-1] if value[-1:].lower() in ("k", "m", "g", "t") else value)


_OPTION_VALUES = {"nspec": _valid_count, "specsize": _valid_size}


def check_speculation(program: A.Program) -> list[Diagnostic]:
    """The speculation rules' diagnostics for ``program``, in source order."""
    found = _option_diagnostics(program)
    for clause in program.clauses:
        flags = _Clause()
        for action, node in _actions(clause.body):
            tag = flags.add(action)
            if tag is not None:
                found.append(Diagnostic(tag, MESSAGES[tag], node.span))
                break
    return found
