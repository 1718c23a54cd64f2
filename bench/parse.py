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


def measure(texts: list[tuple[str, str]], repeat: int) -> float:
    lines = sum(t.count("\n") for _, t in texts) * repeat
    start = time.process_time()
    for _ in range(repeat):
        for name, text in texts:
            check(parse(text, name))
    return lines / (time.process_time() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    parse("BEGIN { x = 1; }")  # load the grammar outside the timing
    big = generate(args.lines)
    corpus = [(str(p), p.read_text()) for p in sorted(CORPUS.glob("*.d"))]
    print(f"generated script: {big.count(chr(10)):,} lines  ->  {measure([('big.d', big)], args.repeat):,.0f} lines/s (parse+check, CPU time)")
    corpus_lines = sum(t.count("\n") for _, t in corpus)
    print(f"test corpus:      {corpus_lines:,} lines in {len(corpus)} files  ->  {measure(corpus, args.repeat * 20):,.0f} lines/s")


if __name__ == "__main__":
    main()
