"""Canonical D from the tree: the base generator every target derives from.

``DPrinter`` is ``dtscope fmt``. Targets (``bpftrace``) subclass it and override
only what differs, in the manner of sqlglot's dialect generators; what a target
cannot express goes through :meth:`Generator.unsupported` so that the user sees
every problem at once.
"""

from __future__ import annotations

from . import ast as A
from .diagnostics import Diagnostic, DiagnosticError

# Binding strength of each binary operator, lowest first, as in C (and the D guide).
BINARY_PRECEDENCE: dict[str, int] = {
    ",": 1,
    "||": 4, "^^": 5, "&&": 6,
    "|": 7, "^": 8, "&": 9,
    "==": 10, "!=": 10,
    "<": 11, "<=": 11, ">": 11, ">=": 11,
    "<<": 12, ">>": 12,
    "+": 13, "-": 13,
    "*": 14, "/": 14, "%": 14,
}
PREC_ASSIGN = 2
PREC_TERNARY = 3
PREC_UNARY = 15
PREC_POSTFIX = 16
PREC_PRIMARY = 17


class Generator:
    """Turns a tree into program text. Subclasses set ``indent`` and override methods."""

    indent = "\t"
    target_name = "D"

    def __init__(self) -> None:
        self.problems: list[Diagnostic] = []

    # ------------------------------------------------------------------ errors

    def unsupported(self, message: str, node: A.Node | None, code: str = "D_UNSUPPORTED") -> str:
        """Record that ``node`` has no faithful translation; returns a placeholder."""
        self.problems.append(Diagnostic(code, message, node.span if node else None))
        return "/* unsupported */"

    def generate(self, program: A.Program) -> str:
        text = self.program(program)
        if self.problems:
            raise DiagnosticError(self.problems)
        return text

    # ------------------------------------------------------------------ program

    def program(self, program: A.Program) -> str:
        out: list[str] = []
        previous: A.Item | None = None
        for item in program.items:
            text = self.item(item)
            if not text:
                continue
            if out:
                # Runs of pragmas or of one-line declarations stay together.
                same_run = type(previous) is type(item) and isinstance(item, (A.Pragma, A.Decl)) and "\n" not in out[-1]
                out.append("\n" if same_run and "\n" not in text else "\n\n")
            out.append(text)
            previous = item
        return "".join(out) + ("\n" if out else "")

    def item(self, item: A.Item) -> str:
        return getattr(self, "item_" + type(item).__name__)(item)

    def item_Pragma(self, node: A.Pragma) -> str:
        return "#pragma " + " ".join(node.words)

    def item_Clause(self, node: A.Clause) -> str:
        lines = [",\n".join(self.probe(p) for p in node.probes)]
        if node.predicate is not None:
            lines.append("/" + self.expr(node.predicate) + "/")
        lines.append(self.body(node.body, 0))
        return "\n".join(lines)

    def probe(self, node: A.ProbeDesc) -> str:
        return node.text

    def body(self, stmts: list[A.Stmt], depth: int) -> str:
        pad = self.indent * depth
        inner = [self.stmt(s, depth + 1) for s in stmts]
        inner = [s for s in inner if s]
        if not inner:
            return pad + "{\n" + pad + "}"
        return pad + "{\n" + "\n".join(inner) + "\n" + pad + "}"

    # ------------------------------------------------------------------ statements

    def stmt(self, node: A.Stmt, depth: int) -> str:
        return getattr(self, "stmt_" + type(node).__name__)(node, depth)

    def stmt_ExprStmt(self, node: A.ExprStmt, depth: int) -> str:
        return self.indent * depth + self.expr(node.expr) + ";"

    def stmt_EmptyStmt(self, node: A.EmptyStmt, depth: int) -> str:
        return ""

    def stmt_AggStmt(self, node: A.AggStmt, depth: int) -> str:
        keys = "[" + ", ".join(self.expr(k, PREC_ASSIGN) for k in node.keys) + "]" if node.keys else ""
        args = ", ".join(self.expr(a, PREC_ASSIGN) for a in node.args)
        return f"{self.indent * depth}@{node.name}{keys} = {node.func}({args});"

    def stmt_If(self, node: A.If, depth: int) -> str:
        pad = self.indent * depth
        text = f"{pad}if ({self.expr(node.cond)}) " + self.body(node.then, depth).lstrip()
        if node.other is not None:
            if len(node.other) == 1 and isinstance(node.other[0], A.If):
                text += " else " + self.stmt_If(node.other[0], depth).lstrip()
            else:
                text += " else " + self.body(node.other, depth).lstrip()
        return text

    def stmt_Block(self, node: A.Block, depth: int) -> str:
        return self.body(node.body, depth)

    # ------------------------------------------------------------------ expressions

    def expr(self, node: A.Expr, min_prec: int = 0) -> str:
        text, prec = getattr(self, "expr_" + type(node).__name__)(node)
        return f"({text})" if prec < min_prec else text

    def expr_IntLit(self, node: A.IntLit) -> tuple[str, int]:
        return node.text, PREC_PRIMARY

    def expr_FloatLit(self, node: A.FloatLit) -> tuple[str, int]:
        return node.text, PREC_PRIMARY

    def expr_StrLit(self, node: A.StrLit) -> tuple[str, int]:
        return f'"{node.text}"', PREC_PRIMARY

    def expr_CharLit(self, node: A.CharLit) -> tuple[str, int]:
        return f"'{node.text}'", PREC_PRIMARY

    def expr_Ident(self, node: A.Ident) -> tuple[str, int]:
        return node.name, PREC_PRIMARY

    def expr_KernelSym(self, node: A.KernelSym) -> tuple[str, int]:
        return f"{node.module or ''}`{node.name}", PREC_PRIMARY

    def expr_MacroArg(self, node: A.MacroArg) -> tuple[str, int]:
        return ("$$" if node.string_form else "$") + node.name, PREC_PRIMARY

    def expr_ThreadVar(self, node: A.ThreadVar) -> tuple[str, int]:
        return f"self->{node.name}", PREC_POSTFIX

    def expr_ClauseVar(self, node: A.ClauseVar) -> tuple[str, int]:
        return f"this->{node.name}", PREC_POSTFIX

    def expr_AggRef(self, node: A.AggRef) -> tuple[str, int]:
        return f"@{node.name}", PREC_PRIMARY

    def expr_Unary(self, node: A.Unary) -> tuple[str, int]:
        operand = self.expr(node.operand, PREC_UNARY)
        # `- -x` must not become `--x`, nor `& &x` become `&&x`.
        if operand[:1] in ("-", "+", "&") and node.op[-1:] == operand[:1]:
            operand = " " + operand
        return node.op + operand, PREC_UNARY

    def expr_Postfix(self, node: A.Postfix) -> tuple[str, int]:
        return self.expr(node.operand, PREC_POSTFIX) + node.op, PREC_POSTFIX

    def expr_Binary(self, node: A.Binary) -> tuple[str, int]:
        prec = BINARY_PRECEDENCE[node.op]
        left = self.expr(node.left, prec)
        right = self.expr(node.right, prec + 1)
        sep = ", " if node.op == "," else f" {node.op} "
        return left + sep + right, prec

    def expr_Assign(self, node: A.Assign) -> tuple[str, int]:
        return f"{self.expr(node.target, PREC_UNARY)} {node.op} {self.expr(node.value, PREC_ASSIGN)}", PREC_ASSIGN

    def expr_Ternary(self, node: A.Ternary) -> tuple[str, int]:
        cond = self.expr(node.cond, PREC_TERNARY + 1)
        then = self.expr(node.then, PREC_ASSIGN)
        other = self.expr(node.other, PREC_TERNARY)
        return f"{cond} ? {then} : {other}", PREC_TERNARY

    def expr_Call(self, node: A.Call) -> tuple[str, int]:
        args = ", ".join(self.expr(a, PREC_ASSIGN) for a in node.args)
        return f"{node.func}({args})", PREC_POSTFIX

    def expr_Index(self, node: A.Index) -> tuple[str, int]:
        keys = ", ".join(self.expr(k, PREC_ASSIGN) for k in node.indices)
        return f"{self.expr(node.base, PREC_POSTFIX)}[{keys}]", PREC_POSTFIX

    def expr_Member(self, node: A.Member) -> tuple[str, int]:
        return f"{self.expr(node.base, PREC_POSTFIX)}{node.op}{node.name}", PREC_POSTFIX

    def expr_Cast(self, node: A.Cast) -> tuple[str, int]:
        return f"({self.type_name(node.type)}){self.expr(node.operand, PREC_UNARY)}", PREC_UNARY

    def expr_SizeOf(self, node: A.SizeOf) -> tuple[str, int]:
        if isinstance(node.operand, A.TypeName):
            return f"sizeof ({self.type_name(node.operand)})", PREC_UNARY
        return f"sizeof ({self.expr(node.operand)})", PREC_UNARY

    def expr_OffsetOf(self, node: A.OffsetOf) -> tuple[str, int]:
        return f"offsetof({self.type_name(node.type)}, {node.member})", PREC_POSTFIX

    def expr_StringOf(self, node: A.StringOf) -> tuple[str, int]:
        return f"stringof({self.expr(node.operand)})", PREC_UNARY

    def expr_Xlate(self, node: A.Xlate) -> tuple[str, int]:
        return f"xlate <{self.type_name(node.type)}> ({self.expr(node.operand)})", PREC_POSTFIX

    # ------------------------------------------------------------------ types and declarations

    def type_spec(self, spec: A.TypeSpec, depth: int = 0) -> str:
        quals = "".join(q + " " for q in spec.qualifiers)
        name = spec.name
        if isinstance(name, A.StructSpec):
            head = name.kind + (" " + name.tag if name.tag else "")
            if name.members is None:
                return quals + head
            pad = self.indent * (depth + 1)
            members = "".join(pad + self.decl_text(m, depth + 1) + ";\n" for m in name.members)
            return f"{quals}{head} {{\n{members}{self.indent * depth}}}"
        if isinstance(name, A.EnumSpec):
            head = "enum" + (" " + name.tag if name.tag else "")
            if name.enumerators is None:
                return quals + head
            pad = self.indent * (depth + 1)
            items = ",\n".join(
                pad + e.name + (f" = {self.expr(e.value, PREC_ASSIGN)}" if e.value is not None else "")
                for e in name.enumerators
            )
            return f"{quals}{head} {{\n{items}\n{self.indent * depth}}}"
        return quals + name

    def array_dims(self, dims: list[A.ArrayDim]) -> str:
        out = []
        for dim in dims:
            if dim.keys is not None:
                out.append("[" + ", ".join(self.param(k) if isinstance(k, A.Param) else self.type_name(k) for k in dim.keys) + "]")
            elif dim.size is not None:
                out.append(f"[{self.expr(dim.size)}]")
            else:
                out.append("[]")
        return "".join(out)

    def type_name(self, node: A.TypeName) -> str:
        text = self.type_spec(node.spec)
        if node.pointers:
            text += " " + "*" * node.pointers
        if node.arrays:
            text += " " + self.array_dims(node.arrays) if not node.pointers else self.array_dims(node.arrays)
        return text

    def param(self, node: A.Param) -> str:
        text = self.type_name(node.type)
        return f"{text} {node.name}" if node.name else text

    def declarator(self, node: A.Declarator) -> str:
        core = node.name or ""
        if node.inner is not None:
            core = f"({self.declarator(node.inner)})"
        text = "*" * node.pointers + core + self.array_dims(node.arrays)
        if node.params is not None:
            text += "(" + ", ".join(self.param(p) for p in node.params) + ")"
        if node.bits is not None:
            text += f" : {self.expr(node.bits)}"
        if node.init is not None:
            text += f" = {self.expr(node.init, PREC_ASSIGN)}"
        return text

    def decl_text(self, node: A.Decl, depth: int = 0) -> str:
        words = " ".join(node.storage + [self.type_spec(node.type, depth)])
        if node.declarators:
            words += " " + ", ".join(self.declarator(d) for d in node.declarators)
        return words

    def item_Decl(self, node: A.Decl) -> str:
        return self.decl_text(node) + ";"

    def item_Inline(self, node: A.Inline) -> str:
        return f"inline {self.type_spec(node.type)} {self.declarator(node.declarator)} = {self.expr(node.value, PREC_ASSIGN)};"

    def item_Translator(self, node: A.Translator) -> str:
        members = "".join(f"{self.indent}{m.name} = {self.expr(m.value, PREC_ASSIGN)};\n" for m in node.members)
        return (
            f"translator {self.type_name(node.output)} < {self.type_spec(node.input.spec)} "
            f"{'*' * node.input.pointers}{node.param}{self.array_dims(node.input.arrays)} > {{\n"
            f"{members}}};"
        )

    def item_Provider(self, node: A.Provider) -> str:
        lines = []
        for probe in node.probes:
            text = f"{self.indent}probe {probe.name}(" + ", ".join(self.param(p) for p in probe.params) + ")"
            if probe.xlated is not None:
                text += " : (" + ", ".join(self.param(p) for p in probe.xlated) + ")"
            lines.append(text + ";\n")
        return f"provider {node.name} {{\n{''.join(lines)}}};"


class DPrinter(Generator):
    """Canonical D: what ``dtscope fmt`` prints."""


def to_d(program: A.Program) -> str:
    return DPrinter().generate(program)
