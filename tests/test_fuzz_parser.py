"""No input, however broken, makes the front end raise anything but a DiagnosticError.

Hypothesis drives random text, random bytes and mutations of the corpus through
parse + check + print for a bounded time (CI runs it too).
"""

from __future__ import annotations

from pathlib import Path

from dtscope.dscript.checks import check
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import parse
from dtscope.dscript.printer import to_d
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CORPUS = [p.read_text() for p in sorted((Path(__file__).parent / "corpus").glob("*/*.d"))]
D_PIECES = [
    "syscall::read:entry", "BEGIN", "/", "{", "}", "(", ")", "[", "]", ";", ",", "@a", "@", "=", "==",
    "count()", "quantize(", "self->", "this->", "x", "1", "0x1f", '"s', '"str"', "'c'", "$1", "$$2",
    "`sym", "->", ".", "?", ":", "#pragma D option quiet\n", "#define X\n", "/*", "*/", "//", "\n",
    "if", "else", "struct", "typedef", "inline", "translator", "provider", "sizeof", "xlate", "<", ">",
    "int", "uint64_t", "*", "&", "-", "+", "!", "~", "++", "--", "^^", "\\", "\x00", "\u00e9",
]

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)


def front_end(text: str) -> None:
    try:
        program = parse(text, "<fuzz>")
    except DiagnosticError as err:
        assert err.diagnostics
        err.format()  # formatting must not fail either
        return
    for diag in check(program):
        diag.format({"<fuzz>": text})
    reparsed = parse(to_d(program), "<printed>")
    assert reparsed == program


@SETTINGS
@given(st.text(max_size=400))
def test_random_text(text):
    front_end(text)


@SETTINGS
@given(st.lists(st.sampled_from(D_PIECES), max_size=60).map(" ".join))
def test_random_d_tokens(text):
    front_end(text)


@SETTINGS
@given(st.sampled_from(CORPUS), st.integers(0, 10_000), st.integers(0, 40), st.sampled_from(D_PIECES + [""]))
def test_corpus_mutations(source, at, cut, insert):
    at %= max(len(source), 1)
    front_end(source[:at] + insert + source[at + cut :])


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(data):
    front_end(data.decode("utf-8", errors="surrogateescape"))


def test_deep_nesting_and_huge_input():
    for text in ("BEGIN { x = " + "(" * 5000 + "1" + ")" * 5000 + "; }",
                 "BEGIN { x = " + "-" * 5000 + "1; }",
                 "BEGIN { " + "if (1) { " * 2000 + "}" * 2000 + " }",
                 "BEGIN { x = " + "(" * 5000):
        front_end(text)
    big = "syscall:::entry { @[execname] = count(); }\n" * 20_000
    assert len(parse(big).clauses) == 20_000
