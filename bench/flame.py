"""Benchmark: render a large folded-stacks file to an SVG flame graph.

Generates 100,000 folded lines (about 20,000 distinct stacks, depth 5 to 60, about
50 MB; the same seed gives the same file), runs ``dtscope flame --input`` on it and
prints the wall time. With ``--flamegraph-pl PATH`` it also times Brendan Gregg's
flamegraph.pl on the same file (not shipped with dtscope: get it from its public
repository) and prints the ratio.

    python bench/flame.py [--flamegraph-pl /tmp/flamegraph.pl] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

LINES = 100_000
DISTINCT = 20_000


def function_names(rng: random.Random, count: int) -> list[str]:
    modules = ["libc", "app", "ssl", "z", "vmlinux"]
    words = ["read", "write", "alloc", "free", "hash", "lookup", "parse", "send", "recv", "lock",
             "unlock", "copy", "encode", "decode", "flush", "poll", "wait", "map", "sort", "init"]
    names = set()
    while len(names) < count:
        parts = "_".join(rng.choice(words) for _ in range(rng.randint(1, 2)))
        names.add(f"{rng.choice(modules)}`{parts}_{rng.randint(0, 99)}")
    return sorted(names)


def generate(path: str, seed: int = 1) -> tuple[int, int]:
    """Write the benchmark input; returns (lines, bytes)."""
    rng = random.Random(seed)
    names = function_names(rng, 3000)
    # Distinct stacks grow from shared prefixes, as real profiles do: most stacks
    # extend or branch off one seen before.
    stacks: list[list[str]] = []
    seen: set[str] = set()
    while len(stacks) < DISTINCT:
        depth = rng.randint(5, 60)
        if stacks and rng.random() < 0.9:
            base = rng.choice(stacks)
            keep = rng.randint(1, min(len(base), depth))
            stack = base[:keep]
        else:
            stack = [rng.choice(names[:20])]
        while len(stack) < depth:
            stack.append(rng.choice(names))
        folded = ";".join(stack)
        if folded not in seen:
            seen.add(folded)
            stacks.append(stack)
    folded_stacks = [";".join(s) for s in stacks]
    chosen = list(range(DISTINCT)) + [rng.randrange(DISTINCT) for _ in range(LINES - DISTINCT)]
    rng.shuffle(chosen)
    with open(path, "w") as fh:
        fh.writelines(f"{folded_stacks[i]} {rng.randint(1, 100)}\n" for i in chosen)
    return len(chosen), os.path.getsize(path)


def timed(command: list[str], stdout_path: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; CPU time is steadier on a busy host."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(stdout_path, "w") as out:
        subprocess.run(command, stdout=out, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flamegraph-pl", metavar="PATH", help="also time this flamegraph.pl")
    parser.add_argument("--keep", metavar="DIR", help="keep the input and outputs in DIR")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool; the best counts")
    args = parser.parse_args(argv)

    work = args.keep or tempfile.mkdtemp(prefix="dtscope-flame-bench.")
    os.makedirs(work, exist_ok=True)
    try:
        folded = os.path.join(work, "bench.folded")
        lines, size = generate(folded)
        print(f"input: {lines:,} lines, {size / 1e6:.1f} MB, {DISTINCT:,} distinct stacks")
        ours = os.path.join(work, "dtscope.svg")
        command = [sys.executable, "-m", "dtscope", "flame", "--input", folded, "-o", ours]
        wall, cpu = best([timed(command, os.devnull) for _ in range(args.repeat)])
        print(f"dtscope flame:  {wall:.2f} s wall, {cpu:.2f} s CPU  ({os.path.getsize(ours) / 1e6:.1f} MB SVG)")
        if args.flamegraph_pl:
            theirs = os.path.join(work, "flamegraph.svg")
            perl = [shutil.which("perl") or "perl", args.flamegraph_pl, folded]
            their_wall, their_cpu = best([timed(perl, theirs) for _ in range(args.repeat)])
            print(f"flamegraph.pl:  {their_wall:.2f} s wall, {their_cpu:.2f} s CPU  "
                  f"({os.path.getsize(theirs) / 1e6:.1f} MB SVG)")
            print(f"speed-up:       {their_wall / wall:.1f}x wall, {their_cpu / cpu:.1f}x CPU")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
