"""The bpftrace target: one generator over the D tree, with the D printer as base.

:class:`BpftraceGenerator` overrides what differs from canonical D; its mixins lower the
aggregations (:mod:`.aggregating`), the output actions (:mod:`.actions`) and the names
(:mod:`.names`), and :class:`~.probes.ProbeResolver` finds the probes. Every construct
either has a faithful bpftrace form (``docs/bpftrace-mapping.md``, :mod:`.tables`) or is
reported through :meth:`Generator.unsupported`; nothing is silently changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import ast as A
from ..diagnostics import DiagnosticError
from ..printer import PREC_ASSIGN, PREC_POSTFIX, PREC_PRIMARY, PREC_UNARY, Generator
from . import tables as T
from .actions import ActionLowering
from .aggregating import AggregationLowering, _AggDecl
from .common import bt_string, d_text, int_literal
from .host import Host
from .maps import COMPANION_PREFIXES, RESETTING_ACTIONS, SUMSQ_PREFIX, MapInfo
from .names import NameLowering
from .probes import ProbeContext, ProbeResolver


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


class BpftraceGenerator(AggregationLowering, ActionLowering, NameLowering, Generator):
    """The bpftrace target: overrides what differs from canonical D."""

    indent = "    "
    target_name = "bpftrace"

    def __init__(
        self,
        host: Host,
        *,
        target_pid: int | None = None,
        target_path: str | None = None,
        interval: float | None = None,
        macro_args: list[str] | None = None,
        default_args: bool = False,
        stack_frames: dict[str, int | None] | None = None,
    ) -> None:
        super().__init__()
        self.host = host
        self.probes = ProbeResolver(
            host, self.report_probe, target_pid=target_pid, target_path=target_path
        )
        self.target_pid = target_pid
        self.cgroup_root = host.cgroup_root.rstrip("/")
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
        self.ctx: ProbeContext | None = None
        self.temp_counter = 0
        # The run's $1..: substituted as DTrace does when it compiles (None: `dtscope
        # compile`, where $N stays bpftrace's positional parameter).
        self.macro_args = None if macro_args is None else list(macro_args)
        self.default_args = default_args
        # The depth of stack()/ustack() written without one (stackframes/ustackframes).
        self.stack_frames: dict[str, int | None] = dict(stack_frames or {})
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

    def report_probe(self, message: str, node: A.Node | None) -> None:
        self.unsupported(message, node, "D_BPFTRACE")

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
        self.features |= self.probes.features
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
                    zero = node.op == "=" and int_literal(node.value) == 0
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
            for ctx in self.probes.resolve(desc):
                out.append(self.clause_for(node, ctx))
        return out

    def clause_for(self, node: A.Clause, ctx: ProbeContext) -> _ClausePart:
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
            return self.fail(f"cannot assign to {d_text(node.target)} in bpftrace", node.target)[0]
        target = self.expr(node.target, PREC_UNARY)
        if (
            node.op == "="
            and int_literal(node.value) == 0
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
        return bt_string(node.value), PREC_PRIMARY

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
        a_lit, b_lit = int_literal(left), int_literal(right)
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
                return f"{self.expr(this, 11)} {node.op} cgroupid({bt_string(path)})"
            if kind == "syscall":
                number = self.host.syscall_numbers().get(other.value)
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
            depth = int_literal(args[0])
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
        return self.fail(f"{d_text(node)}: only associative arrays and args[] are lowered", node)



    def expr_Member(self, node: A.Member) -> tuple[str, int]:
        served = self.resolve_member(node)
        return (served[0] if served else "0"), PREC_PRIMARY



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
