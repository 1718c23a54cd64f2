"""DTrace's aggregations in bpftrace maps: the aggregating statements, the actions on
aggregations, and the interval clause that prints snapshots.

A mixin of :class:`~.generator.BpftraceGenerator`. Each D aggregation becomes one or more
bpftrace maps described by a :class:`~.maps.MapInfo` (see :mod:`.maps` for the contract
with the collector): companions where bpftrace's own functions would not give DTrace's
numbers (negative and huge quantize values, stddev's 128-bit sum of squares, max of
negative values), shifted values where bpftrace's lhist needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast as A
from ..aggregations import llquantize_bounds, llquantize_problem
from ..printer import PREC_ASSIGN
from .common import bt_string, d_text, int_literal
from .maps import (
    COMPANION_PREFIXES,
    CUMULATIVE_FUNCTIONS,
    HIGH_SHIFT,
    SNAPSHOT_MARKER,
    SUMSQ_LIMBS,
    SUMSQ_PREFIX,
    MapInfo,
)


@dataclass
class _AggDecl:
    name: str
    function: str
    params: tuple = ()
    key_count: int | None = None
    node: A.AggStmt | None = None


def _histogram_constant(node: A.Expr) -> int | None:
    """A constant that a quantize counts in its main map alone (no companions needed)."""
    constant = int_literal(node)
    return constant if constant is not None and 0 <= constant < (1 << HIGH_SHIFT) else None


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


class AggregationLowering:
    """Aggregating statements and the actions on aggregations (mixed into the generator)."""

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
        names = [d_text(k) for k in node.keys]
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
        if arg is None or int_literal(arg) == 1:
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
        bounds = [int_literal(a) for a in node.args[1:4]]
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
        params = [int_literal(a) for a in node.args[1:5]]
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
        lines.append(f"{self.indent}printf({bt_string(SNAPSHOT_MARKER + chr(10))});")
        self.features.add("interval")
        return (
            "// one snapshot per interval: print every aggregation (running totals stay, min/max\n"
            "// are cleared), then the marker\n"
            + spec
            + "\n{\n"
            + "\n".join(lines)
            + "\n}"
        )
