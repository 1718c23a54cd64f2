"""The D corpus: every good script parses, checks clean and round-trips; every bad
script fails with the expected code at the expected position (first-line comment
``/* expect: CODE LINE:COL */``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dtscope.dscript.checks import check
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import parse, parse_file
from dtscope.dscript.printer import to_d

CORPUS = Path(__file__).parent / "corpus"
GOOD = sorted((CORPUS / "good").glob("*.d"))
BAD = sorted((CORPUS / "bad").glob("*.d"))
EXPECT = re.compile(r"expect: (\w+) (\d+):(\d+)")


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_script_parses_and_checks(path):
    program = parse_file(str(path))
    errors = [d for d in check(program) if d.severity == "error"]
    assert errors == [], "\n".join(d.format() for d in errors)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_round_trip(path):
    program = parse_file(str(path))
    printed = to_d(program)
    reparsed = parse(printed, "<printed>")
    assert reparsed == program
    # The canonical form is a fixed point.
    assert to_d(reparsed) == printed


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_script_reports_code_and_position(path):
    text = path.read_text()
    code, line, col = EXPECT.search(text.splitlines()[0]).groups()
    try:
        program = parse(text, str(path))
    except DiagnosticError as err:
        diagnostics = err.diagnostics
    else:
        diagnostics = [d for d in check(program) if d.severity == "error"]
    assert diagnostics, "expected an error"
    first = diagnostics[0]
    assert (first.code, first.span.line, first.span.col) == (code, int(line), int(col)), first.format()
    assert first.span.file == str(path)


def test_corpus_is_substantial():
    assert len(GOOD) >= 20 and len(BAD) >= 20
