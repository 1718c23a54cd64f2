"""The C preprocessor step (``dtrace -C``), on top of ply's ``cpp`` module.

D scripts run through cpp when asked (``-C`` on the command line or in the ``#!``
line). The output keeps line markers (``# 12 "file.d"``) wherever the position jumps,
so every later error still points at the right file and line. ``#pragma`` lines pass
through untouched, as cpp passes them to the compiler.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from ply import cpp as ply_cpp
from ply import lex

from . import ast as A
from .diagnostics import Diagnostic, DiagnosticError
from .lexer import LineMap

# A #pragma becomes this identifier followed by a string literal, which cpp leaves
# alone; the output turns it back into the pragma line.
PRAGMA_MARK = "__dtscope_pragma__"
PRAGMA_LINE = re.compile(r"^[ \t]*#[ \t]*pragma\b(.*)$", re.MULTILINE)
DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(\w+)", re.MULTILINE)
KNOWN_DIRECTIVES = {"define", "undef", "include", "if", "ifdef", "ifndef", "elif", "else", "endif", "pragma", "error", "line"}


class _Preprocessor(ply_cpp.Preprocessor):
    """ply's preprocessor, reporting problems as diagnostics instead of printing."""

    def __init__(self, include_dirs: Iterable[str], main_file: str) -> None:
        super().__init__(lex.lex(module=ply_cpp, optimize=False, debug=False, errorlog=lex.NullLogger()))
        self.problems: list[Diagnostic] = []
        self.main_file = main_file
        for directory in include_dirs:
            self.add_path(directory)
        self.sources: dict[str, str] = {}

    def error(self, file, line, msg):
        self.problems.append(Diagnostic("D_PREPROC", str(msg), A.Span(file or self.main_file, line or 1, 1)))

    def include(self, tokens):
        """#include "x.d" (relative to the including file, then -I) and <x.d> (-I)."""
        tokens = self.tokenstrip(list(tokens))
        line = tokens[0].lineno if tokens else 1
        current = self.source or self.main_file
        if tokens and tokens[0].value != "<" and tokens[0].type != self.t_STRING:
            tokens = self.tokenstrip(self.expand_macros(tokens))
        if tokens and tokens[0].type == self.t_STRING:
            name = tokens[0].value[1:-1]
            here = os.path.dirname(current) if current and not current.startswith("<") else "."
            search = [here] + list(self.path)
        elif tokens and tokens[0].value == "<":
            name = "".join(t.value for t in tokens[1:]).split(">", 1)[0]
            search = list(self.path)
        else:
            self.error(current, line, "#include expects \"FILE\" or <FILE>")
            return
        for directory in search:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8", errors="replace") as fh:
                        data = fh.read()
                except OSError as err:
                    self.error(current, line, f"cannot read {path}: {err.strerror}")
                    return
                self.sources[path] = data
                yield from self.parsegen(_protect_pragmas(data), path)
                return
        where = ", ".join(search) or "no include directories"
        if tokens[0].value == "<":
            # A system header (<sys/file.h>): DTrace takes its definitions from the
            # host's headers and CTF. Where it is not on the -I path, go on without
            # it; the names it would define are then reported by the checks.
            self.problems.append(Diagnostic(
                "D_PREPROC",
                f"system header <{name}> not found (searched: {where}); continuing without it (add -I DIR)",
                A.Span(current, line, 1), "warning"))
            return
        self.error(current, line, f"#include file '{name}' not found (searched: {where}; add -I DIR)")


def _protect_pragmas(text: str) -> str:
    def repl(match: re.Match) -> str:
        body = match.group(1).strip().replace("\\", "\\\\").replace('"', '\\"')
        return f'{PRAGMA_MARK} "{body}"'

    return PRAGMA_LINE.sub(repl, text)


def _check_directives(text: str, filename: str) -> list[Diagnostic]:
    problems = []
    for match in DIRECTIVE.finditer(text):
        if match.group(1) not in KNOWN_DIRECTIVES and not text.startswith("#!", match.start()):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(
                Diagnostic("D_PREPROC", f"unknown preprocessor directive '#{match.group(1)}'",
                           A.Span(filename, line, 1, line, len(match.group(0)) + 1))
            )
    return problems


def preprocess(
    text: str, filename: str, include_dirs: Iterable[str], defines: dict[str, str]
) -> tuple[str, LineMap, dict[str, str], list[Diagnostic]]:
    """Run cpp over ``text``; returns (output with line markers, line map, sources, warnings)."""
    if text.startswith("#!"):
        # Keep the line count, drop the interpreter line (cpp would choke on it).
        text = "\n" + text.split("\n", 1)[1] if "\n" in text else ""
    problems = _check_directives(text, filename)
    pp = _Preprocessor(include_dirs, filename)
    pp.sources[filename] = text
    for name, value in defines.items():
        pp.define(f"{name} {value}" if value != "" else name)
    out: list[str] = []
    at_line_start = True
    current: tuple[str, int] | None = None  # (file, line) of the output line being written
    pending_pragma = False
    for tok in pp.parsegen(_protect_pragmas(text), filename):
        source = getattr(tok, "source", None) or pp.source or filename
        value = tok.value
        if tok.type in pp.t_WS:
            if "\n" in value:
                newlines = value.count("\n")
                out.append("\n" * newlines)
                at_line_start = True
                if current is not None:
                    current = (current[0], current[1] + newlines)
            elif not at_line_start:
                out.append(" ")
            continue
        where = (pp.source or filename, tok.lineno)
        if current != where:
            if not at_line_start:
                out.append("\n")
            out.append(f'# {where[1]} "{where[0]}"\n')
            current = where
            at_line_start = True
        if value == PRAGMA_MARK:
            pending_pragma = True
            continue
        if pending_pragma and tok.type == pp.t_STRING:
            body = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            out.append(f"#pragma {body}")
            pending_pragma = False
            at_line_start = False
            continue
        out.append(value)
        at_line_start = False
    problems.extend(pp.problems)
    if any(p.severity == "error" for p in problems):
        raise DiagnosticError(problems, pp.sources)
    return "".join(out), LineMap(filename), pp.sources, problems
