"""Parse + check throughput of the D front end, in lines per second (one core).

    .venv/bin/python bench/parse.py [--lines N] [--repeat R]

Prints the figure for a large generated script (clauses in the style of real tools:
predicates, thread-locals, aggregations, printf) and for the test corpus. The
first parse (grammar load) is excluded: it happens once per process.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
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
