"""The targets a D program can be generated for: the one table that lists them.

Every target is a generator over the same tree: the canonical D printer
(:class:`~.printer.DPrinter`, ``dtscope fmt``) is the base, and each target overrides only
what differs (:class:`~.d_dialects.IllumosD`, :class:`~.d_dialects.OracleD2`,
:class:`~.bpftrace.generator.BpftraceGenerator`). ``dtscope compile --target``, the
collectors' session and both tracer backends read this table.

The passes, in order: parse (with the C preprocessor for ``-C`` scripts) -> check ->
lower for a target. Lowering for a tracer gives a :class:`~.lowered.Lowered`: the program
text, the aggregations, and the framing its backend needs to read the output back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from . import ast as A
from . import bpftrace, d_dialects
from .bpftrace.generator import BpftraceGenerator
from .bpftrace.host import Host
from .lowered import Lowered
from .printer import DPrinter, Generator, to_d


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    generator: type[Generator]
    tracer: str | None  # the backend that runs it ("dtrace", "bpftrace"); None: D to read
    # (program, **settings) -> Lowered: the program with what its backend needs to run it.
    # The dtrace dialects take ``interval`` and ``nonce``; bpftrace takes its host first.
    lower: Callable[..., Lowered] | None = None


TARGETS: dict[str, Target] = {
    "d": Target("d", "canonical D (dtscope fmt)", DPrinter, None),
    "illumos": Target(
        "illumos", "D for illumos/SmartOS, FreeBSD and macOS dtrace", d_dialects.IllumosD, "dtrace",
        functools.partial(d_dialects.lower, dialect="illumos"),
    ),
    "oracle": Target(
        "oracle", "D 2.0 for Oracle's DTrace for Linux (no if/else, no zonename)",
        d_dialects.OracleD2, "dtrace", functools.partial(d_dialects.lower, dialect="oracle"),
    ),
    "bpftrace": Target(
        "bpftrace", "a bpftrace program (Linux)", BpftraceGenerator, "bpftrace", bpftrace.lower
    ),
}
DTRACE_DIALECTS = tuple(name for name, t in TARGETS.items() if t.tracer == "dtrace")
TRACERS = tuple(dict.fromkeys(t.tracer for t in TARGETS.values() if t.tracer))


def generate(program: A.Program, target: str, *, host: Host | None = None) -> str:
    """The program's text for ``target`` as ``dtscope compile`` prints it (without the
    dtrace backend's snapshot machinery); the bpftrace target lowers for ``host``."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
    if target == "d":
        return to_d(program)
    if target == "bpftrace":
        if host is None:
            raise ValueError("the bpftrace target needs a host")
        return bpftrace.lower(program, host).text
    return d_dialects.to_dialect(program, target)
