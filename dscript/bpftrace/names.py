"""What D's names mean in bpftrace: built-in variables, members, ``args[]`` and key kinds.

A mixin of :class:`~.generator.BpftraceGenerator`. Each name resolves to a pair (bpftrace
text, key kind) from :mod:`.tables` and the probe being lowered (:class:`~.probes.ProbeContext`),
or is reported with the reason it has no faithful counterpart.
"""

from __future__ import annotations

import re

from .. import ast as A
from ..printer import PREC_PRIMARY
from . import tables as T
from .common import bt_string, d_text, int_literal, library_constant


class NameLowering:
    """Identifiers, members and kinds (mixed into the generator)."""

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
            return bt_string(value), "str"
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
        constant = library_constant(name)
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
        if not self.host.has_btf():
            self.unsupported(
                f"{what} needs the kernel's BTF (/sys/kernel/btf/vmlinux), which this kernel lacks",
                node,
                "D_BPFTRACE",
            )

    def internal(self, bt: str) -> str:
        if bt not in self.internal_maps:
            self.internal_maps.append(bt)
        return bt

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
            return bt_string(value), PREC_PRIMARY
        try:
            number = int(value, 0)
        except ValueError:
            return self.fail(
                f"macro argument ${index} is {value!r}, not an integer (write $${index} for a string)", node
            )
        return (str(number) if number >= 0 else f"({number})"), PREC_PRIMARY

    def arg_element(self, node: A.Index) -> T.Served | None:
        index = int_literal(node.indices[0]) if len(node.indices) == 1 else None
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
            index = int_literal(base.indices[0]) if len(base.indices) == 1 else None
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
            f"{d_text(node)}: following pointers and structures is not lowered to bpftrace",
            node,
            "D_BPFTRACE",
        )
        return None

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
                index = int_literal(node.indices[0]) if node.indices else None
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
                index = int_literal(base.indices[0]) if base.indices else None
                return (
                    self.ctx.target.members.get((index, node.name), ("", "int"))[1]
                    if index is not None
                    else "int"
                )
            return "int"
        if isinstance(node, A.Ternary):
            return self.kind_of(node.then)
        return "int"
