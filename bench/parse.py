"""Parse + check throughput of the D front end, in lines per second (one core).

    .venv/bin/python bench/parse.py [--lines N] [--repeat R]
    .venv/bin/python bench/parse.py --instructions [--lines 3000]

Prints the figure for a large generated script (clauses in the style of real tools:
predicates, thread-locals, aggregations, printf) and for the test corpus. The
first parse (grammar load) is excluded: it happens once per process.

CPU time on a virtual machine varies by 20% or more from run to run. To judge a change,
``--instructions`` counts the machine instructions of parse+check instead (under
valgrind's callgrind, which must be installed): the same figure on every run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dtscope.dscript.checks import check
from dtscope.dscript.parser import parse

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "good"

TEMPLATE = """syscall::{name}:entry
/pid != $pid && execname != "dtrace"/
{{
	self->ts_{i} = timestamp;
	this->fd = arg0;
}}

syscall::{name}:return
/self->ts_{i} && (int)arg0 >= 0/
{{
	@lat_{i}[execname, probefunc] = quantize(timestamp - self->ts_{i});
	@bytes[zonename] = sum(arg0 > 0 ? arg0 : 0);
	printf("%d %s %d\\n", pid, execname, (timestamp - self->ts_{i}) / 1000);
	self->ts_{i} = 0;
}}

"""
NAMES = ["read", "write", "open", "close", "ioctl", "mmap", "stat", "poll"]


def generate(lines: int) -> str:
    chunks, count, i = [], 0, 0
    while count < lines:
        chunk = TEMPLATE.format(name=NAMES[i % len(NAMES)], i=i)
        chunks.append(chunk)
        count += chunk.count("\n")
        i += 1
    return "".join(chunks)


def measure(texts: list[tuple[str, str]], repeat: int) -> tuple[float, float]:
    """Lines per second over ``repeat`` timed passes: (best, median). CPU time of this
    process, so other processes on the machine disturb it less than wall time."""
    lines = sum(t.count("\n") for _, t in texts)
    rates = []
    for _ in range(repeat):
        kept = []  # tearing the trees down is not part of parsing: free them untimed
        start = time.process_time()
        for name, text in texts:
            program = parse(text, name)
            check(program)
            kept.append(program)
        rates.append(lines / (time.process_time() - start))
        del kept
    rates.sort()
    return rates[-1], rates[len(rates) // 2]


def instructions(lines: int) -> None:
    """Instructions of parse+check: a run that parses, minus one that only sets up."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")

    def count(*extra: str) -> int:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
             "--child", str(lines), *extra],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        return int(re.search(r"Collected : (\d+)", out.stderr).group(1))

    total = count("parse") - count()
    print(f"generated script: {lines:,} lines  ->  {total / 1e9:.3f} billion instructions for parse+check, "
          f"{total / lines:,.0f} per line")


def child(lines: int, parse_it: bool) -> None:
    parse("BEGIN { x = 1; }")
    text = generate(lines)
    if parse_it:
        check(parse(text, "big.d"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=None, help="lines of the generated script (20,000; 3,000 with --instructions)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--instructions", action="store_true", help="count instructions under valgrind instead of timing")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1:] == ["parse"])
        return
    if args.instructions:
        instructions(args.lines or 3_000)
        return
    args.lines = args.lines or 20_000
    parse("BEGIN { x = 1; }")  # load the grammar outside the timing
    big = generate(args.lines)
    corpus = [(str(p), p.read_text()) for p in sorted(CORPUS.glob("*.d"))]
    best, median = measure([("big.d", big)], args.repeat)
    print(f"generated script: {big.count(chr(10)):,} lines  ->  best {best:,.0f} lines/s, median {median:,.0f} (parse+check)")
    corpus_lines = sum(t.count("\n") for _, t in corpus)
    best, median = measure(corpus * 20, args.repeat)
    print(f"test corpus:      {corpus_lines:,} lines in {len(corpus)} files (x20)  ->  best {best:,.0f} lines/s, median {median:,.0f}")


if __name__ == "__main__":
    main()
