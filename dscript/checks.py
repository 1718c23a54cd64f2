"""Semantic checks: the pass between parsing and lowering.

``check(program)`` returns diagnostics (errors and warnings) with DTrace-style codes:

* aggregating functions and their argument counts (``D_PROTO_LEN``), one aggregation
  used with two functions or two key signatures (``D_AGG_REDEF``), aggregating
  functions outside an aggregation (``D_AGG_FUNC``), aggregations read as values
  (``D_AGG_SCALAR``), lquantize/llquantize bounds (``D_LQUANT_*``, ``D_LLQUANT_*``);
* unknown functions (``D_FUNC_UNDEF``), variables (``D_IDENT_UNDEF``) and macro
  variables (``D_MACRO_UNDEF``); writes to built-ins (``D_OP_WRITE``) and to things
  that are not variables (``D_OP_LVAL``); printf argument counts (``D_PRINTF_ARG_*``);
  malformed ``tick-``/``profile-`` rates (``D_PDESC_INVAL``);
* destructive actions, reported as warnings (``D_ACT_DESTRUCT``) and listed by
  :func:`destructive_actions` so that runners can refuse them.

Types that the kernel would supply (``struct file``, ``vnode_t``, members of
``curthread``...) are accepted without declarations, as DTrace accepts them with CTF.
Macro arguments ``$1``.. are accepted as ``dtrace -x defaultargs`` does.
"""

from __future__ import annotations

import re

from . import ast as A
from .builtins import (
    AGGREGATING_FUNCTIONS,
    AGGREGATION_ACTIONS,
    BUILTIN_VARIABLES,
    DESTRUCTIVE_ACTIONS,
    FUNCTIONS,
    LIBRARY_CONSTANTS,
    LIBRARY_INLINES,
    MACRO_VARIABLES,
    RATE_UNITS,
)
from .diagnostics import Diagnostic

RATE_PROBE = re.compile(r"^(tick|profile)-(\d+)([a-z]*)$")
PRINTF_CONVERSION = re.compile(r"%(%|[-+ #0]*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|L|z|j|t)?([a-zA-Z@]))")


def check(program: A.Program) -> list[Diagnostic]:
    return Checker(program).run()


def destructive_actions(program: A.Program | None) -> list[tuple[str, A.Span | None]]:
    """Every destructive action the program calls, with where."""
    if program is None:
        return []
    return [
        (node.func, node.span)
        for node in program.walk()
        if isinstance(node, A.Call) and node.func in DESTRUCTIVE_ACTIONS
    ]


def _position(diag: Diagnostic) -> tuple:
    span = diag.span
    return (span.file, span.line, span.col) if span is not None else ("", 0, 0)


def _int_value(expr: A.Expr, inlines: dict[str, A.Expr] | None = None, _depth: int = 0) -> int | None:
    """The value of an integer constant expression: literals, inline constants
    (``inline int MAXCPUID = 1024;``) and + - * << over them."""
    if isinstance(expr, A.IntLit):
        return expr.value
    if isinstance(expr, A.Ident) and inlines and expr.name in inlines and _depth < 20:
        return _int_value(inlines[expr.name], inlines, _depth + 1)
    if isinstance(expr, A.CharLit):
        return expr.value
    if isinstance(expr, A.Unary) and expr.op in ("-", "+"):
        inner = _int_value(expr.operand, inlines, _depth + 1)
        if inner is None:
            return None
        return -inner if expr.op == "-" else inner
    if isinstance(expr, A.Binary) and expr.op in ("+", "-", "*", "<<"):
        left, right = _int_value(expr.left, inlines, _depth + 1), _int_value(expr.right, inlines, _depth + 1)
        if left is None or right is None:
            return None
        return {"+": left + right, "-": left - right, "*": left * right, "<<": left << right}[expr.op]
    return None


class Checker(A.Visitor):
    def __init__(self, program: A.Program) -> None:
        self.program = program
        self.diagnostics: list[Diagnostic] = []
        self.known_names: set[str] = set()
        self.aggregations: dict[str, A.AggStmt] = {}
        self.scopes: list[set[str]] = []  # translator / inline parameters
        self.inlines: dict[str, A.Expr] = {
            item.declarator.name: item.value
            for item in program.items
            if isinstance(item, A.Inline) and item.declarator.name and not item.declarator.arrays
        }
        # System headers the preprocessor could not find: names they would have defined
        # are only warned about.
        self.missing_headers = [
            d.message.split(">")[0].split("<")[-1]
            for d in program.warnings
            if d.code == "D_PREPROC" and "system header" in d.message
        ]

    def error(self, code: str, message: str, node: A.Node | A.Span | None) -> None:
        span = node if isinstance(node, A.Span) or node is None else node.span
        self.diagnostics.append(Diagnostic(code, message, span))

    def warning(self, code: str, message: str, node: A.Node | None) -> None:
        self.diagnostics.append(Diagnostic(code, message, node.span if node else None, "warning"))

    def run(self) -> list[Diagnostic]:
        # One walk over the tree. D globals may be used before the statement that
        # assigns them, so names not known when met are looked up again at the end.
        self.pending_names: list[A.Ident] = []
        self.visit(self.program)
        for node in self.pending_names:
            if node.name not in self.known_names:
                self.report_unknown_name(node)
        found = sorted(self.diagnostics, key=_position)
        return list(self.program.warnings) + found

    # ------------------------------------------------------------ what the program defines

    def define_target(self, target: A.Expr) -> None:
        """``x = ...``, ``x[k] = ...``, ``x++``: the program defines the global ``x``."""
        while isinstance(target, A.Index):
            target = target.base
        if isinstance(target, A.Ident):
            self.known_names.add(target.name)

    def visit_Enumerator(self, node: A.Enumerator) -> None:
        self.known_names.add(node.name)
        self.generic_visit(node)

    # ------------------------------------------------------------ items

    def visit_Clause(self, node: A.Clause) -> None:
        for probe in node.probes:
            self.check_probe(probe)
        self.generic_visit(node)

    def check_probe(self, probe: A.ProbeDesc) -> None:
        provider, _, _, name = probe.fields
        if provider in ("tick", "profile") or (not provider and RATE_PROBE.match(name)):
            match = RATE_PROBE.match(name)
            if match and match.group(3) and match.group(3) not in RATE_UNITS:
                self.error(
                    "D_PDESC_INVAL",
                    f"invalid rate unit '{match.group(3)}' in probe '{probe.text}' "
                    f"(use one of: {', '.join(sorted(RATE_UNITS))})",
                    probe,
                )

    def visit_Translator(self, node: A.Translator) -> None:
        self.scopes.append({node.param})
        self.generic_visit(node)
        self.scopes.pop()

    def visit_Inline(self, node: A.Inline) -> None:
        if node.declarator.name:
            self.known_names.add(node.declarator.name)
        params = {
            key.name
            for dim in node.declarator.arrays
            for key in (dim.keys or [])
            if isinstance(key, A.Param) and key.name
        }
        self.scopes.append(params)
        self.visit(node.value)
        self.scopes.pop()

    def visit_Decl(self, node: A.Decl) -> None:
        if "typedef" not in node.storage:
            self.known_names.update(d.name for d in node.declarators if d.name)
        # Array sizes and enumerator values are expressions; names in them are checked.
        self.generic_visit(node)

    # ------------------------------------------------------------ aggregations

    def visit_AggStmt(self, node: A.AggStmt) -> None:
        label = f"@{node.name}"
        func = FUNCTIONS.get(node.func)
        if node.func not in AGGREGATING_FUNCTIONS:
            known = ", ".join(sorted(AGGREGATING_FUNCTIONS))
            self.error("D_AGG_FUNC", f"{label}: '{node.func}' is not an aggregating function (one of: {known})", node)
        elif func is not None:
            self.check_arity(func, len(node.args), node)
            self.check_quantize_bounds(node)
        previous = self.aggregations.get(node.name)
        if previous is None:
            self.aggregations[node.name] = node
        elif previous.func != node.func and node.func in AGGREGATING_FUNCTIONS:
            where = f" at {previous.span}" if previous.span else ""
            self.error(
                "D_AGG_REDEF",
                f"aggregation {label} redefined: {node.func}() here, {previous.func}(){where}",
                node,
            )
        elif len(previous.keys) != len(node.keys):
            self.error(
                "D_AGG_REDEF",
                f"aggregation {label} redefined: {len(node.keys)} key(s) here, {len(previous.keys)} before",
                node,
            )
        elif node.func in ("lquantize", "llquantize") and [_int_value(a, self.inlines) for a in previous.args[1:]] != [
            _int_value(a, self.inlines) for a in node.args[1:]
        ]:
            self.error("D_AGG_REDEF", f"aggregation {label} redefined with different {node.func}() parameters", node)
        for key in node.keys:
            self.visit(key)
        for arg in node.args:
            self.visit(arg)

    def check_quantize_bounds(self, node: A.AggStmt) -> None:
        args = node.args
        if node.func == "lquantize" and len(args) >= 3:
            values = [_int_value(a, self.inlines) for a in args[1:4]]
            for i, (arg, value) in enumerate(zip(args[1:4], values)):
                if value is None:
                    what = ("lower bound", "upper bound", "step")[i]
                    self.error("D_LQUANT_BASETYPE", f"lquantize() {what} must be an integer constant", arg)
                    return
            lo, hi = values[0], values[1]
            step = values[2] if len(values) > 2 else 1
            if step is not None and step <= 0:
                self.error("D_LQUANT_STEPVAL", "lquantize() step must be greater than zero", args[3])
            elif hi <= lo:
                self.error("D_LQUANT_MISMATCH", "lquantize() upper bound must be greater than lower bound", args[2])
            elif step and (hi - lo) // step > 65535:
                self.error("D_LQUANT_STEPLARGE", "lquantize() has too many buckets (more than 65535)", node)
        elif node.func == "llquantize" and len(args) >= 5:
            values = [_int_value(a, self.inlines) for a in args[1:5]]
            names = ("factor", "low magnitude", "high magnitude", "steps")
            for arg, value, name in zip(args[1:5], values, names):
                if value is None:
                    self.error("D_LLQUANT_BASETYPE", f"llquantize() {name} must be an integer constant", arg)
                    return
            factor, low, high, steps = values
            if factor < 2:
                self.error("D_LLQUANT_FACTORSMALL", "llquantize() factor must be at least 2", args[1])
            elif low < 0:
                self.error("D_LLQUANT_LOWVAL", "llquantize() low magnitude must be non-negative", args[2])
            elif high < low:
                self.error("D_LLQUANT_HIGHVAL", "llquantize() high magnitude must be at least the low magnitude", args[3])
            elif steps <= 0 or (steps > factor and steps % factor) or (steps < factor and factor % steps):
                self.error(
                    "D_LLQUANT_STEPVAL",
                    "llquantize() steps must be a multiple or a divisor of the factor",
                    args[4],
                )

    # ------------------------------------------------------------ calls

    def check_arity(self, func, count: int, node: A.Node) -> None:
        lo, hi = func.min_args, func.max_args
        if count < lo or (hi is not None and count > hi):
            if hi is None:
                want = f"at least {lo}"
            elif lo == hi:
                want = str(lo)
            else:
                want = f"{lo} to {hi}"
            plural = "" if want == "1" else "s"
            self.error("D_PROTO_LEN", f"{func.name}() takes {want} argument{plural}, {count} given", node)

    def visit_Call(self, node: A.Call) -> None:
        func = FUNCTIONS.get(node.func)
        if func is None and self.missing_headers:
            headers = ", ".join(f"<{h}>" for h in self.missing_headers)
            self.warning("D_FUNC_UNDEF", f"unknown function '{node.func}()': assumed to come from {headers}", node)
        elif func is None:
            self.error("D_FUNC_UNDEF", f"unknown function '{node.func}()'", node)
        elif func.kind == "aggregating":
            self.error(
                "D_AGG_FUNC",
                f"{node.func}() is an aggregating function: use it as @name[keys] = {node.func}(...)",
                node,
            )
        else:
            self.check_arity(func, len(node.args), node)
            if func.destructive:
                self.warning(
                    "D_ACT_DESTRUCT",
                    f"destructive action {node.func}(): runs only when destructive actions are allowed "
                    "(dtrace -w, dtscope --destructive)",
                    node,
                )
            if node.func == "printf" and node.args:
                self.check_printf(node)
        for i, arg in enumerate(node.args):
            if isinstance(arg, A.AggRef) and (node.func in AGGREGATION_ACTIONS or (node.func == "printa" and i > 0)):
                continue
            self.visit(arg)

    def check_printf(self, node: A.Call) -> None:
        fmt = node.args[0]
        if not isinstance(fmt, A.StrLit):
            return
        wanted = 0
        for match in PRINTF_CONVERSION.finditer(fmt.value):
            if match.group(1) == "%":
                continue
            wanted += 1 + (match.group(2) == "*") + (match.group(4) == "*")
        given = len(node.args) - 1
        if given < wanted:
            self.error("D_PRINTF_ARG_PROTO", f"printf() format needs {wanted} argument(s), {given} given", node)
        elif given > wanted:
            self.error("D_PRINTF_ARG_EXTRA", f"printf() format uses {wanted} argument(s), {given} given", node)

    # ------------------------------------------------------------ expressions

    def visit_AggRef(self, node: A.AggRef) -> None:
        self.error(
            "D_AGG_SCALAR",
            f"aggregation @{node.name} cannot be used as a value (only printa(), clear(), trunc()... take one)",
            node,
        )

    def visit_Ident(self, node: A.Ident) -> None:
        name = node.name
        if name in BUILTIN_VARIABLES or name in self.known_names or any(name in s for s in self.scopes):
            return
        if name in LIBRARY_CONSTANTS or name in LIBRARY_INLINES:
            return
        self.pending_names.append(node)

    def report_unknown_name(self, node: A.Ident) -> None:
        name = node.name
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            self.warning(
                "D_IDENT_UNDEF",
                f"'{name}' is not defined here: assumed to be a constant from a D library or kernel header",
                node,
            )
            return
        if self.missing_headers:
            headers = ", ".join(f"<{h}>" for h in self.missing_headers)
            self.warning("D_IDENT_UNDEF", f"'{name}' is not defined here: assumed to come from {headers}", node)
            return
        self.error("D_IDENT_UNDEF", f"'{name}' is not a built-in variable or a variable of this program", node)

    def visit_MacroArg(self, node: A.MacroArg) -> None:
        if node.name.isdigit() or node.name in MACRO_VARIABLES:
            return
        self.error("D_MACRO_UNDEF", f"unknown macro variable '${node.name}'", node)

    def visit_Assign(self, node: A.Assign) -> None:
        self.check_lvalue(node.target)
        self.define_target(node.target)
        self.generic_visit(node)

    def visit_Unary(self, node: A.Unary) -> None:
        if node.op in ("++", "--"):
            self.check_lvalue(node.operand)
            self.define_target(node.operand)
        self.generic_visit(node)

    def visit_Postfix(self, node: A.Postfix) -> None:
        self.check_lvalue(node.operand)
        self.define_target(node.operand)
        self.generic_visit(node)

    def check_lvalue(self, target: A.Expr) -> None:
        base = target
        while isinstance(base, A.Index):
            base = base.base
        if isinstance(base, A.Ident) and base.name in BUILTIN_VARIABLES and base is target:
            self.error("D_OP_WRITE", f"cannot modify built-in variable '{base.name}'", target)
        elif not isinstance(
            target, (A.Ident, A.ThreadVar, A.ClauseVar, A.Index, A.Member, A.KernelSym)
        ) and not (isinstance(target, A.Unary) and target.op == "*"):
            self.error("D_OP_LVAL", "the left side of an assignment must be a variable", target)

    def visit_Member(self, node: A.Member) -> None:
        # Member names belong to types the kernel supplies; only the base is checked.
        self.visit(node.base)

    def visit_OffsetOf(self, node: A.OffsetOf) -> None:
        return None

    def visit_SizeOf(self, node: A.SizeOf) -> None:
        if isinstance(node.operand, A.Expr):
            self.visit(node.operand)

    def visit_TypeName(self, node: A.TypeName) -> None:
        return None
