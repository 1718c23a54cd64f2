"""Speculations in the consumer, against what the real dtrace printed.

Each case is one of our own D programs and, beside it, the same program told as steps
for the two models (:class:`KernelSpeculations` for what the kernel decides,
:class:`SpeculationBuffers` for what libdtrace holds and prints). The steps' output
(stdout, and the fault and drop lines on stderr) must be what Oracle's dtrace printed
for the program: ``tests/fixtures/consumer_speculation/<case>.{d,stdout,stderr}``.

Capture again with a real dtrace::

    .venv/bin/python tests/test_consumer_speculation.py --capture [CASE...]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from dtscope.collectors.consumer.speculation import (
    DropCounts,
    KernelSpeculations,
    SpeculationBuffers,
    drop_messages,
    record_layout,
    record_size,
)
from dtscope.collectors.consumer.strings import SubroutineFault

FIXTURES = Path(__file__).parent / "fixtures" / "consumer_speculation"

# Steps, one per D action, in the order the program runs them:
#   ("alloc", var)                   var = speculation()
#   ("print", text, sizes)           a record not under speculation
#   ("spec", var, text, sizes)       a clause: speculate(var); then printf(text) with values
#                                    of these sizes (the record's layout); when speculate
#                                    fails, the clause's later steps are skipped
#   ("incr", var)                    var++ (skipped in an abandoned clause)
#   ("commit", var) / ("discard", var)
#   ("end",)                         the end of a clause
#   ("drained",)                     a new probe firing: the consumer has caught up
# Texts are str.format()ed with the variables.


@dataclass
class Case:
    name: str
    program: str
    steps: list
    nspec: int = 1
    specsize: int = 4 * 1024 * 1024
    quiet: bool = True


I32, I64 = 4, 8

CASES = [
    Case(
        "ids_in_order",
        """\
#pragma D option quiet
#pragma D option nspec=2
BEGIN { a = speculation(); b = speculation(); c = speculation(); }
BEGIN { printf("ids %d %d %d\\n", a, b, c); }
BEGIN { exit(0); }
""",
        [("alloc", "a"), ("alloc", "b"), ("alloc", "c"), ("print", "ids {a} {b} {c}\n", [I32] * 3)],
        nspec=2,
    ),
    Case(
        "commit_order",
        """\
#pragma D option quiet
#pragma D option nspec=2
BEGIN { a = speculation(); b = speculation(); }
BEGIN { speculate(a); printf("A1\\n"); }
BEGIN { speculate(b); printf("B1 %d\\n", b); }
BEGIN { printf("plain\\n"); }
BEGIN { speculate(a); printf("A2\\n"); printf("A2 again\\n"); }
BEGIN { commit(b); }
BEGIN { printf("after commit b\\n"); }
BEGIN { commit(a); }
BEGIN { printf("last\\n"); exit(0); }
""",
        [
            ("alloc", "a"),
            ("alloc", "b"),
            ("end",),
            ("spec", "a", "A1\n", []),
            ("end",),
            ("spec", "b", "B1 {b}\n", [I32]),
            ("end",),
            ("print", "plain\n", []),
            ("spec", "a", "A2\nA2 again\n", []),
            ("end",),
            ("commit", "b"),
            ("print", "after commit b\n", []),
            ("commit", "a"),
            ("print", "last\n", []),
        ],
        nspec=2,
    ),
    Case(
        "busy_until_drained",
        """\
#pragma D option quiet
#pragma D option nspec=2
BEGIN { a = speculation(); b = speculation(); }
BEGIN { speculate(b); printf("B1\\n"); }
BEGIN { commit(b); }
BEGIN { speculate(b); printf("B2 never\\n"); n++; }
BEGIN { printf("n=%d\\n", n); d = speculation(); printf("d=%d\\n", d); }
BEGIN { commit(a); }
BEGIN { e = speculation(); printf("e=%d\\n", e); }
tick-200ms { f = speculation(); g = speculation(); printf("f=%d g=%d\\n", f, g); exit(0); }
""",
        [
            ("alloc", "a"),
            ("alloc", "b"),
            ("end",),
            ("spec", "b", "B1\n", []),
            ("end",),
            ("commit", "b"),
            ("spec", "b", "B2 never\n", []),
            ("incr", "n"),
            ("end",),
            ("print", "n={n}\n", [I32]),
            ("alloc", "d"),
            ("print", "d={d}\n", [I32]),
            ("commit", "a"),
            ("alloc", "e"),
            ("print", "e={e}\n", [I32]),
            ("drained",),
            ("alloc", "f"),
            ("alloc", "g"),
            ("print", "f={f} g={g}\n", [I32, I32]),
        ],
        nspec=2,
    ),
    Case(
        "discard_and_repeats",
        """\
#pragma D option quiet
int t;
BEGIN { a = speculation(); }
BEGIN { speculate(a); printf("discarded\\n"); }
BEGIN { discard(a); }
BEGIN { commit(a); }
BEGIN { discard(a); commit(a); }
BEGIN { printf("between\\n"); }
tick-200ms /t == 0/ { b = speculation(); printf("b=%d\\n", b); }
tick-200ms /t == 0/ { speculate(b); printf("kept\\n"); }
tick-200ms /t == 0/ { commit(b); }
tick-200ms /t == 0/ { commit(b); }
tick-200ms /t == 0/ { discard(b); }
tick-200ms /t == 0/ { printf("done\\n"); exit(0); }
tick-200ms { t++; }
""",
        [
            ("alloc", "a"),
            ("end",),
            ("spec", "a", "discarded\n", []),
            ("end",),
            ("discard", "a"),
            ("commit", "a"),
            ("discard", "a"),
            ("commit", "a"),
            ("print", "between\n", []),
            ("drained",),
            ("alloc", "b"),
            ("print", "b={b}\n", [I32]),
            ("spec", "b", "kept\n", []),
            ("end",),
            ("commit", "b"),
            ("commit", "b"),
            ("discard", "b"),
            ("print", "done\n", []),
        ],
    ),
    Case(
        "ids_that_are_not_active",
        """\
#pragma D option quiet
#pragma D option nspec=3
BEGIN { commit(0); discard(0); commit(2); discard(3); }
BEGIN { speculate(0); printf("never 0\\n"); n++; }
BEGIN { speculate(2); printf("never 2\\n"); n++; }
BEGIN { speculate(99); printf("never 99\\n"); n++; }
BEGIN { speculate(-1); printf("never -1\\n"); n++; }
BEGIN { before = 1; speculate(1); printf("never 1\\n"); n++; }
BEGIN { printf("n=%d before=%d\\n", n, before); }
BEGIN { commit(4); }
BEGIN { discard(-1); }
BEGIN { printf("after faults\\n"); exit(0); }
""",
        [
            ("commit", 0),
            ("discard", 0),
            ("commit", 2),
            ("discard", 3),
            ("end",),
            ("spec", 0, "never 0\n", []),
            ("incr", "n"),
            ("end",),
            ("spec", 2, "never 2\n", []),
            ("incr", "n"),
            ("end",),
            ("spec", 99, "never 99\n", []),
            ("incr", "n"),
            ("end",),
            ("spec", -1, "never -1\n", []),
            ("incr", "n"),
            ("end",),
            ("set", "before", 1),
            ("spec", 1, "never 1\n", []),
            ("incr", "n"),
            ("end",),
            ("print", "n={n} before={before}\n", [I32, I32]),
            ("commit", 4),
            ("end",),
            ("discard", -1),
            ("end",),
            ("print", "after faults\n", []),
        ],
        nspec=3,
    ),
    Case(
        "more_than_16",
        """\
#pragma D option quiet
#pragma D option nspec=20
BEGIN { s1 = speculation(); s2 = speculation(); s3 = speculation(); s4 = speculation(); }
BEGIN { s5 = speculation(); s6 = speculation(); s7 = speculation(); s8 = speculation(); }
BEGIN { s9 = speculation(); s10 = speculation(); s11 = speculation(); s12 = speculation(); }
BEGIN { s13 = speculation(); s14 = speculation(); s15 = speculation(); s16 = speculation(); }
BEGIN { s17 = speculation(); s18 = speculation(); }
BEGIN { printf("%d %d %d %d %d %d %d %d %d\\n", s1, s2, s3, s4, s5, s6, s7, s8, s9); }
BEGIN { printf("%d %d %d %d %d %d %d %d %d\\n", s10, s11, s12, s13, s14, s15, s16, s17, s18); }
BEGIN { exit(0); }
""",
        [("alloc", f"s{i}") for i in range(1, 19)]
        + [
            ("print", " ".join(f"{{s{i}}}" for i in range(1, 10)) + "\n", [I32] * 9),
            ("print", " ".join(f"{{s{i}}}" for i in range(10, 19)) + "\n", [I32] * 9),
        ],
        nspec=20,
    ),
    Case(
        "specsize_kernel_and_consumer",
        """\
#pragma D option quiet
#pragma D option specsize=28
BEGIN { a = speculation(); }
BEGIN { speculate(a); printf("%d %d %d\\n", 1, 2, 3); n++; }
BEGIN { speculate(a); printf("%d\\n", 4); n++; }
BEGIN { speculate(a); printf("%d %d\\n", 5, 6); n++; }
BEGIN { speculate(a); printf("%d %d %d %d\\n", 7, 8, 9, 10); n++; }
BEGIN { commit(a); }
BEGIN { printf("n=%d\\n", n); exit(0); }
""",
        [
            ("alloc", "a"),
            ("end",),
            ("spec", "a", "1 2 3\n", [I32] * 3),
            ("incr", "n"),
            ("end",),
            ("spec", "a", "4\n", [I32]),
            ("incr", "n"),
            ("end",),
            ("spec", "a", "5 6\n", [I32] * 2),
            ("incr", "n"),
            ("end",),
            ("spec", "a", "7 8 9 10\n", [I32] * 4),
            ("incr", "n"),
            ("end",),
            ("commit", "a"),
            ("print", "n={n}\n", [I32]),
        ],
        specsize=28,
    ),
    Case(
        "specsize_accumulates",
        """\
#pragma D option quiet
#pragma D option specsize=100
#pragma D option strsize=16
BEGIN { a = speculation(); }
BEGIN { speculate(a); printf("%d %d %d\\n", 1, 2, 3); }
BEGIN { speculate(a); printf("%s\\n", "sixteen"); }
BEGIN { speculate(a); printf("%d\\n", 7LL); }
BEGIN { speculate(a); printf("%d\\n", 8); }
BEGIN { speculate(a); printf("%c\\n", 'x'); }
BEGIN { speculate(a); printf("no values\\n"); }
BEGIN { commit(a); }
BEGIN { exit(0); }
""",
        [
            ("alloc", "a"),
            ("end",),
            ("spec", "a", "1 2 3\n", [I32] * 3),
            ("end",),
            ("spec", "a", "sixteen\n", [17]),
            ("end",),
            ("spec", "a", "7\n", [I64]),
            ("end",),
            ("spec", "a", "8\n", [I32]),
            ("end",),
            ("spec", "a", "x\n", [1]),
            ("end",),
            ("spec", "a", "no values\n", []),
            ("end",),
            ("commit", "a"),
        ],
        specsize=100,
    ),
    Case(
        "never_committed",
        """\
#pragma D option quiet
#pragma D option nspec=2
BEGIN { a = speculation(); b = speculation(); }
BEGIN { speculate(a); printf("lost at exit\\n"); }
BEGIN { speculate(b); printf("committed\\n"); }
BEGIN { commit(b); }
BEGIN { printf("bye\\n"); exit(0); }
""",
        [
            ("alloc", "a"),
            ("alloc", "b"),
            ("end",),
            ("spec", "a", "lost at exit\n", []),
            ("end",),
            ("spec", "b", "committed\n", []),
            ("end",),
            ("commit", "b"),
            ("print", "bye\n", []),
        ],
        nspec=2,
    ),
    Case(
        "fault_loses_the_clause",
        """\
#pragma D option quiet
BEGIN { a = speculation(); }
BEGIN { speculate(a); printf("one\\n"); }
BEGIN { speculate(a); printf("%s\\n", strchr("abc", 'z')); }
BEGIN { speculate(a); printf("three\\n"); }
BEGIN { commit(a); }
BEGIN { exit(0); }
""",
        [
            ("alloc", "a"),
            ("end",),
            ("spec", "a", "one\n", []),
            ("end",),
            ("spec", "a", None, []),
            ("end",),
            ("spec", "a", "three\n", []),
            ("end",),
            ("commit", "a"),
        ],
    ),
    Case(
        "not_quiet",
        """\
BEGIN { a = speculation(); }
BEGIN { speculate(a); }
BEGIN { speculate(a); printf("A1"); }
BEGIN { speculate(a); trace(42); }
BEGIN { x = 1; }
BEGIN { commit(a); }
BEGIN { exit(0); }
""",
        [
            ("alloc", "a"),
            ("end",),
            ("spec", "a", "", []),
            ("end",),
            ("spec", "a", "A1", []),
            ("end",),
            ("spec", "a", "         42", [I32]),
            ("end",),
            ("commit", "a"),
            ("print", "", []),
        ],
        quiet=False,
    ),
]

HEADER = "CPU     ID                    FUNCTION:NAME\n"


def _line(text: str) -> str:
    """A record printed without quiet: CPU, probe ID, FUNCTION:NAME, then its output."""
    return f"{0:>3} {1:>6} {':BEGIN':>32} {text}\n"


def run_steps(case: Case) -> tuple[str, list[str], DropCounts]:
    """(stdout, the faults' messages, the drop counts) the two models give."""
    kernel = KernelSpeculations(case.nspec, case.specsize)
    buffers = SpeculationBuffers(case.specsize)
    env: dict[str, int] = {}
    out: list[str] = []
    faults: list[str] = []
    skipping = False

    def value(ref):
        return env.get(ref, 0) if isinstance(ref, str) else ref

    def emit(records):
        out.extend(records if case.quiet else [_line(r) for r in records])

    for step in case.steps:
        kind = step[0]
        if kind == "end":
            skipping = False
        elif skipping:
            continue
        elif kind == "alloc":
            env[step[1]] = kernel.speculation()
        elif kind == "set":
            env[step[1]] = step[2]
        elif kind == "incr":
            env[step[1]] = env.get(step[1], 0) + 1
        elif kind == "print":
            text, sizes = step[1], step[2]
            emit(buffers.record(0, text.format_map(defaultdict(int, env)), record_size(sizes)))
        elif kind == "spec":
            spec_id, text, sizes = value(step[1]), step[2], step[3]
            if not kernel.speculate(spec_id):
                skipping = True
                continue
            ends, size = record_layout(sizes)
            if not all(kernel.store_fits(end) for end in ends):
                skipping = True
                continue
            if text is None:  # the clause faults: its record is lost
                faults.append("invalid address (0x0)")
                skipping = True
                continue
            generation = kernel.generations[spec_id]
            emit(buffers.record(spec_id, text.format_map(defaultdict(int, env)), size, generation))
        elif kind in ("commit", "discard"):
            spec_id = value(step[1])
            try:
                generation = getattr(kernel, kind)(spec_id)
            except SubroutineFault as fault:
                faults.append(fault.message)
                skipping = True
                continue
            if generation is not None:
                if kind == "commit":
                    emit(buffers.commit(spec_id, generation))
                else:
                    buffers.discard(spec_id, generation)
        elif kind == "drained":
            kernel.drained(buffers.take_freed())
        else:
            raise ValueError(step)
    stdout = "".join(out)
    if not case.quiet and stdout:
        stdout = HEADER + stdout
    counts = DropCounts(kernel.drops + buffers.drops, kernel.busy, kernel.unavailable)
    return stdout + "\n", faults, counts


_FAULT = re.compile(
    r"^dtrace: error in dt_clause_\d+ for probe ID \d+ \([^)]*\): (.*?) at BPF pc \d+$"
)
_CPU_COLUMN = re.compile(r"^ {2}\d (?= {5}\d)", re.MULTILINE)


_DROP_LINE = re.compile(r"^dtrace: (\d+) (speculative drop|failed speculation)s?(.*)$")
_DROP_KIND = {
    ("speculative drop", ""): "speculative",
    ("failed speculation", " (available buffer(s) still busy)"): "busy",
    ("failed speculation", " (no speculative buffer available)"): "unavailable",
}


def captured(case: Case) -> tuple[str, list[str], DropCounts]:
    """What dtrace printed. Drops are summed by kind: dtrace reports the growth of its
    counters at each status read, and when those happen is its timing, not the script's."""
    stdout = (FIXTURES / f"{case.name}.stdout").read_text()
    stdout = _CPU_COLUMN.sub("  0 ", stdout)  # which CPU ran BEGIN is the machine's choice
    faults = []
    drops = {"speculative": 0, "busy": 0, "unavailable": 0}
    for line in (FIXTURES / f"{case.name}.stderr").read_text().splitlines():
        if match := _FAULT.match(line):
            faults.append(match.group(1))
        elif match := _DROP_LINE.match(line):
            drops[_DROP_KIND[match.group(2), match.group(3)]] += int(match.group(1))
        elif not line.startswith("dtrace: script ") and line:
            raise AssertionError(f"unexpected stderr line: {line!r}")
    return stdout, faults, DropCounts(**drops)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_is_this_program(case):
    assert (FIXTURES / f"{case.name}.d").read_text() == case.program


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_as_dtrace(case):
    assert run_steps(case) == captured(case)


# ------------------------------------------------------------------ unit rules as data

LAYOUTS = [
    ([], [], 16),
    ([4], [20], 24),
    ([4, 4], [20, 24], 24),
    ([4, 4, 4], [20, 24, 28], 32),
    ([8], [24], 24),
    ([1, 4, 8], [17, 24, 32], 32),
    ([1, 1], [17, 18], 24),
    ([257], [273], 280),
    ([1, 257, 8], [17, 274, 288], 288),
]


@pytest.mark.parametrize("sizes,ends,size", LAYOUTS)
def test_record_layout(sizes, ends, size):
    """Sizes measured on the real dtrace: the smallest specsize that keeps the record."""
    assert record_layout(sizes) == (ends, size)


def test_drop_messages_follow_libdtrace():
    assert drop_messages(DropCounts(), DropCounts(2, 1, 3)) == [
        "dtrace: 2 speculative drops",
        "dtrace: 1 failed speculation (available buffer(s) still busy)",
        "dtrace: 3 failed speculations (no speculative buffer available)",
    ]
    assert drop_messages(DropCounts(2, 1, 3), DropCounts(3, 1, 3)) == ["dtrace: 1 speculative drop"]


def test_late_records_follow_their_speculation():
    """A record that reaches the consumer after its speculation's commit (another CPU's
    buffer) is printed then; after a discard, dropped; a reused id with a new generation
    starts empty."""
    buffers = SpeculationBuffers()
    assert buffers.record(1, "early", 16, generation=1) == []
    assert buffers.commit(1, generation=1) == ["early"]
    assert buffers.record(1, "late", 16, generation=1) == ["late"]
    assert buffers.record(1, "next use", 16, generation=2) == []
    buffers.discard(2, generation=1)
    assert buffers.record(2, "after discard", 16, generation=1) == []
    assert buffers.commit(1, generation=2) == ["next use"]
    assert buffers.held(1, 2) == 0


def test_nspec_zero_is_refused():
    with pytest.raises(ValueError):
        KernelSpeculations(nspec=0)


# ------------------------------------------------------------------ capturing


def capture(dtrace: str, only: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        if only and case.name not in only:
            continue
        program = FIXTURES / f"{case.name}.d"
        program.write_text(case.program)
        run = subprocess.run(
            [dtrace, "-s", program.name],
            cwd=FIXTURES,
            capture_output=True,
            timeout=60,
            check=False,
        )
        (FIXTURES / f"{case.name}.stdout").write_bytes(run.stdout)
        (FIXTURES / f"{case.name}.stderr").write_bytes(run.stderr)
        print(f"{case.name}: exit {run.returncode}")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--capture"]:
        sys.exit(f"usage: {sys.argv[0]} --capture [CASE...]")
    capture(os.environ.get("DTRACE", "/opt/dtrace-build/dtrace"), sys.argv[2:])
