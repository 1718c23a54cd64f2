"""Diagnostics: one shape for every error dtscope reports about a script.

``file:line:col: error: message [D_CODE]``, then the source line and a caret
(``^~~~`` under the whole range when it is on one line), as DTrace and bpftrace users expect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .ast import Span


@dataclass
class Diagnostic:
    code: str  # in the spirit of DTrace's: D_SYNTAX, D_AGG_REDEF, D_PROTO_LEN...
    message: str
    span: Span | None = None
    severity: str = "error"  # "error" | "warning"

    def format(self, sources: Mapping[str, str] | None = None) -> str:
        where = f"{self.span}: " if self.span else ""
        head = f"{where}{self.severity}: {self.message} [{self.code}]"
        line_text = _source_line(self.span, sources) if self.span else None
        if line_text is None:
            return head
        line_text = line_text.rstrip("\n").expandtabs(1)  # keep columns: a tab is one column
        line_text = "".join(ch if ch.isprintable() else "?" for ch in line_text)
        if len(line_text) > 200:
            line_text = line_text[:200] + "..."
        col = max(self.span.col, 1)
        width = 1
        if self.span.end_line == self.span.line and self.span.end_col > self.span.col:
            width = self.span.end_col - self.span.col
        width = max(1, min(width, max(1, len(line_text) - col + 1)))
        caret = " " * (col - 1) + "^" + "~" * (width - 1)
        return f"{head}\n{line_text}\n{caret}"

    def __str__(self) -> str:
        return self.format()


class DiagnosticError(Exception):
    """Raised by a pass that found errors; carries all of them."""

    def __init__(self, diagnostics: list[Diagnostic], sources: Mapping[str, str] | None = None):
        self.diagnostics = diagnostics
        self.sources = dict(sources or {})
        super().__init__("\n".join(d.format(self.sources) for d in diagnostics))

    def format(self) -> str:
        return "\n".join(d.format(self.sources) for d in self.diagnostics)


def _source_line(span: Span, sources: Mapping[str, str] | None) -> str | None:
    text = (sources or {}).get(span.file)
    if text is None:
        if span.file in ("<stdin>", "<string>") or not os.path.isfile(span.file):
            return None
        try:
            with open(span.file, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return None
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None
