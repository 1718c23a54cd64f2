"""D's output actions in bpftrace: printf, printa, trace, exit, stack and ustack.

A mixin of :class:`~.generator.BpftraceGenerator`. bpftrace prints by itself, so each
action is lowered to the bpftrace statement that prints the same text, or refused with the
reason (a conversion bpftrace lacks, a format it reads differently).
"""

from __future__ import annotations

import re

from .. import ast as A
from ..printer import PREC_ASSIGN
from . import tables as T
from .common import bt_string, d_text, int_literal
from .maps import PRINTA_BEGIN, PRINTA_END

_PRINTF_SPEC = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?(?P<len>hh|h|ll|l|L|z|j|t)?(?P<conv>[a-zA-Z@%])"
)


class ActionLowering:
    """Output actions (mixed into the generator)."""

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
                out_args.append(f"strftime({bt_string(T.WALLTIME_FORMAT)}, nsecs)")
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
                    f"{d_text(arg)} is a number in bpftrace ({kind} id): it can be an aggregation key, "
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
        return bt_string(self._bt_format(tokens, node)), out_args

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
            [f"printf({bt_string(PRINTA_BEGIN + chr(10))});", *lines, f"printf({bt_string(PRINTA_END + chr(10))});"]
        )

    def action_trace(self, node: A.Call) -> str:
        if len(node.args) != 1:
            return self.fail("trace() takes one argument", node)[0]
        if self.kind_of(node.args[0]) in ("cgroup", "syscall"):
            return self.fail(
                f"{d_text(node.args[0])} is a number in bpftrace; it cannot be traced as a string",
                node,
            )[0]
        return f"print({self.expr(node.args[0], PREC_ASSIGN)});"

    def action_exit(self, node: A.Call) -> str:
        status = int_literal(node.args[0]) if len(node.args) == 1 else None
        if status != 0:
            return self.fail(
                "bpftrace 0.17's exit() takes no status: only exit(0) translates", node
            )[0]
        return "exit();"

    def action_stack(self, node: A.Call) -> str:
        return f'printf("%s\\n", {self.expr(node)});'

    def action_ustack(self, node: A.Call) -> str:
        return f'printf("%s\\n", {self.expr(node)});'

    def action_system(self, node: A.Call) -> str:
        return self.fail("system() is not lowered to bpftrace (it would need --unsafe)", node)[0]
