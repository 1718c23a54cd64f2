"""What lowering a program for a target gives: one typed result that the collectors read.

A :class:`Lowered` holds the program text for the tracer, the aggregations it feeds (with
their key kinds, parameters and units), the framing the collector needs to read the
tracer's output back (:class:`~.bpftrace.maps.BpftraceFraming` or :class:`DTraceFraming`),
the program's own options and what it needs from the tracer. The targets that produce it
are listed in :mod:`.targets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import ast as A
from .aggregations import AggInfo

if TYPE_CHECKING:  # the bpftrace target imports this module
    from .bpftrace.maps import BpftraceFraming


@dataclass
class SourceMap:
    """For each line of generated D (1-based), the source position it came from."""

    spans: list[A.Span | None]

    def lookup(self, line: int) -> A.Span | None:
        """The source position of generated ``line``: its own mark, or the nearest mark
        above it shifted by the distance (a predicate line follows its probe line)."""
        if not 1 <= line <= len(self.spans):
            return None
        for index in range(line - 1, -1, -1):
            span = self.spans[index]
            if span is not None:
                offset = line - 1 - index
                return A.Span(span.file, span.line + offset, 1 if offset else span.col)
        return None


# Every frame line of the dtrace snapshot machinery starts with this and a nonce: the
# record separator cannot appear in what a D program prints by accident.
DTRACE_MARKER_PREFIX = "\x1edtscope-"


@dataclass
class DTraceFraming:
    """How the D for a dtrace backend frames its snapshots (see ``d_dialects.machinery``)."""

    nonce: str
    dialect: str  # "illumos" | "oracle"
    source_map: SourceMap  # generated line -> the user's file and line
    user_lines: int  # lines of the user's program; the machinery follows them

    @property
    def marker(self) -> str:
        return DTRACE_MARKER_PREFIX + self.nonce


@dataclass
class Lowered:
    """A program lowered for one target."""

    target: str  # a name of targets.TARGETS
    text: str  # what the tracer runs
    aggregations: dict[str, AggInfo] = field(default_factory=dict)  # by D name ("" = anonymous)
    framing: BpftraceFraming | DTraceFraming | None = None
    options: dict[str, str | None] = field(default_factory=dict)  # #pragma D option and #! -x
    features: frozenset[str] = frozenset()  # what the program needs (btf, uprobe, cpid...)
