#!/usr/bin/env -S python3 -S
"""A stand-in ``dtrace`` for tests only: replays real DTrace output with its timing.

It accepts dtrace's command line (``-V``, ``-q``, ``-w``, ``-x``, ``-c``, ``-p``,
``-s FILE`` and macro arguments), reads the D program dtscope generated, and picks the
first scenario in :data:`SCENARIOS` whose ``match`` strings all occur in it. It then
behaves as dtrace does with that program, printing **real captured output** (the
files in ``tests/fixtures/dtrace-output``, from Oracle's DTrace for Linux) inside
dtscope's snapshot frames:

* every ``tick`` of the program's interval clause (at the program's own rate) it
  prints an interval snapshot whose ``printa()`` blocks are slices of a capture;
* it ends when the scenario's program would (``exit()``), when the ``-c`` command
  exits, or on SIGINT (as dtrace does), and then prints the END snapshot;
* it writes the capture's stderr (drops, runtime errors) at the recorded point, and
  compile errors with the line of the generated program they refer to;
* it can die mid-run with an exit status, or lack privileges.

Tests run it as ``python -S tests/fake_dtrace.py`` through a small wrapper (see
``fake_dtrace_binary`` in tests/test_dtrace_backend.py): no site packages, quick start.

Environment: ``FAKE_DTRACE_LOG`` (append the argv as a JSON line),
``FAKE_DTRACE_VERSION`` (what ``-V`` prints; default Oracle D 2.0),
``FAKE_DTRACE_FIXTURES`` (where the captures are), ``FAKE_DTRACE_STARTUP`` (seconds
before BEGIN, as a real dtrace spends compiling), ``FAKE_DTRACE_NO_DROPTAGS`` (refuse
``-x droptags`` as consumers older than 2012 do), ``FAKE_DTRACE_DIE_AFTER`` (ticks
before the "dies" scenario dies).
"""

from __future__ import annotations

import signal


# Like dtrace, finish with the END snapshot on SIGINT, even one that comes at start-up.
class Stopped:
    flag = False


def on_sigint(signum, frame) -> None:
    Stopped.flag = True


signal.signal(signal.SIGINT, on_sigint)

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field

FIXTURES = os.environ.get(
    "FAKE_DTRACE_FIXTURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "dtrace-output")
)

# A printa() block: (capture file, first line, last line), 1-based and inclusive.
Block = tuple[str, int, int]


@dataclass
class Scenario:
    name: str
    match: list[str]
    intervals: list[dict[str, Block]] = field(default_factory=list)  # per tick, by aggregation
    whole: dict[str, Block] = field(default_factory=dict)  # the END snapshot without an interval
    exit_after: int | None = None  # the program exit()s after this many ticks (None: runs on)
    runtime: float = 0.3  # without an interval: seconds until the program exit()s
    stderr: str | None = None  # capture .err file printed before END
    stderr_droptags: str | None = None  # the same with -x droptags
    stdout: str | None = None  # capture .out lines printed as program output (file, first, last)
    stdout_lines: tuple[int, int] | None = None
    compile_error: str | None = None  # capture .err of a compile error; exit 1
    error_at: str | None = None  # text in the program whose line the error names
    die_after: int | None = None  # die after this many ticks...
    die_message: str = ""
    die_status: int = 1
    privileges: bool = False


SCENARIOS = [
    Scenario(
        "tick_trunc",
        match=['@t["ticks", n] = count()'],
        intervals=[
            {"t": ("tick_trunc.out", 3, 4), "h": ("tick_trunc.out", 6, 12)},
            {"t": ("tick_trunc.out", 15, 16), "h": ("tick_trunc.out", 18, 23)},
            {"t": ("tick_trunc.out", 26, 27), "h": ("tick_trunc.out", 29, 35)},
        ],
        exit_after=3,
    ),
    Scenario(
        "live_syscalls",
        match=["syscall::getppid:entry", "@calls[execname] = count()"],
        intervals=[{"calls": ("live_syscalls.out", 2, 2), "lat": ("live_syscalls.out", 3, 8)}],
        whole={"calls": ("live_syscalls.out", 2, 2), "lat": ("live_syscalls.out", 3, 8)},
    ),
    Scenario(
        "scalars",
        match=["@sd = stddev(2)"],
        whole={
            "c": ("scalars.out", 2, 2), "s": ("scalars.out", 3, 3), "a": ("scalars.out", 4, 4),
            "mi": ("scalars.out", 5, 5), "ma": ("scalars.out", 6, 6), "sd": ("scalars.out", 7, 7),
            "kc": ("scalars.out", 8, 9), "ks": ("scalars.out", 10, 12),
        },
        exit_after=0,
        runtime=0.0,
    ),
    Scenario(
        "quantize",
        match=["@big = quantize(4611686018427387904)"],
        whole={"q": ("quantize.out", 2, 24), "big": ("quantize.out", 25, 154), "kq": ("quantize.out", 155, 169)},
        exit_after=0,
        runtime=0.0,
    ),
    Scenario(
        "lquantize",
        match=["@l1 = lquantize(3, 0, 5)"],
        whole={"l": ("lquantize.out", 2, 16), "l1": ("lquantize.out", 17, 23), "kl": ("lquantize.out", 24, 35)},
        exit_after=0,
        runtime=0.0,
    ),
    Scenario(
        "llquantize",
        match=["@ll2 = llquantize(1, 10, 1, 2, 20)"],
        whole={"ll": ("llquantize.out", 2, 116), "ll2": ("llquantize.out", 117, 158)},
        exit_after=0,
        runtime=0.0,
    ),
    Scenario(
        "stacks",
        match=["@k[stack()] = count()"],
        whole={"k": ("stacks.out", 2, 7), "u": ("stacks.out", 8, 10)},
        runtime=0.2,
    ),
    Scenario(
        "agg_drops",
        match=["@[i++] = count()"],
        whole={"": ("agg_drops.out", 2, 21)},
        stderr="agg_drops.err",
        stderr_droptags="agg_drops_tags.err",
        runtime=0.3,
    ),
    Scenario(
        "dynvar_drops",
        match=["x[timestamp] = 1"],
        stderr="dynvar_drops.err",
        stderr_droptags="dynvar_drops.err",
        runtime=0.2,
    ),
    Scenario(
        "runtime_error",
        match=["trace(*(int *)0)"],
        stderr="runtime_error.err",
        stdout="runtime_error.out",
        stdout_lines=(1, 1),
        exit_after=0,
        runtime=0.0,
    ),
    Scenario("unknown_probe", match=["foo:bar:baz:qux"], compile_error="unknown_probe.err", error_at="foo:bar:baz:qux"),
    Scenario("unknown_var", match=["no_such_variable"], compile_error="unknown_var.err", error_at="no_such_variable"),
    Scenario(
        "lquantize_mismatch",
        match=["lquantize(1, 10, 0, 1)"],
        compile_error="syntax_error_tags.err",
        error_at="lquantize(1, 10, 0, 1)",
    ),
    Scenario(
        "dies",
        match=["@dying = count()"],
        intervals=[{"dying": ("scalars.out", 2, 2)}],
        die_after=2,
        die_message="dtrace: processing aborted: Abort due to systemic unresponsiveness",
        die_status=1,
    ),
    Scenario("privileges", match=["@needs_privileges = count()"], privileges=True),
    Scenario(
        "target",
        match=["pid == $target", "@calls[execname] = count()"],
        intervals=[{"calls": ("live_syscalls.out", 2, 2)}],
        whole={"calls": ("live_syscalls.out", 2, 2)},
        runtime=3600.0,  # until the -c command exits
    ),
]


def read_capture(name: str) -> list[str]:
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read().split("\n")


def block_text(block: Block) -> list[str]:
    name, first, last = block
    return read_capture(name)[first - 1 : last]


# --------------------------------------------------------------------------- the program


@dataclass
class Program:
    text: str
    nonce: str
    interval: float | None
    aggregations: list[str]


def read_program(path: str) -> Program:
    with open(path) as fh:
        text = fh.read()
    m = re.search(r"\\036dtscope-([0-9a-f]+) ", text)
    nonce = m.group(1) if m else ""
    interval = None
    t = re.search(r'tick-(\d+)(ms|s)\n\{\n\tprintf\("\\036dtscope-[0-9a-f]+ snapshot interval', text)
    if t:
        interval = int(t.group(1)) / (1000.0 if t.group(2) == "ms" else 1.0)
    end = text[text.rfind("END\n{") :]
    aggs = re.findall(r"\\036dtscope-[0-9a-f]+ agg (\S+)\\n", end)
    return Program(text, nonce, interval, ["" if a == "@" else a for a in aggs])


def wait(seconds: float, child: subprocess.Popen | None) -> bool:
    """Sleep up to ``seconds``; True if SIGINT came or the -c command exited."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if Stopped.flag or (child is not None and child.poll() is not None):
            return True
        time.sleep(0.01)
    return Stopped.flag or (child is not None and child.poll() is not None)


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def print_snapshot(program: Program, kind: str, blocks: dict[str, Block]) -> None:
    mark = "\x1edtscope-" + program.nonce
    # timestamp and walltimestamp, as the machinery's printf() gives them
    out(f"{mark} snapshot {kind} {time.monotonic_ns()} {time.time_ns()}")
    for name in program.aggregations:
        out(f"{mark} agg {name or '@'}")
        out("")  # printa() starts with a newline
        if name in blocks:
            for line in block_text(blocks[name]):
                out(line)
        out(f"{mark} end {name or '@'}")
    out(f"{mark} snapshot-end")


def main(argv: list[str]) -> int:
    if os.environ.get("FAKE_DTRACE_LOG"):
        with open(os.environ["FAKE_DTRACE_LOG"], "a") as fh:
            fh.write(json.dumps(argv) + "\n")
    script = None
    options: dict[str, str] = {}
    command = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-V":
            out(os.environ.get("FAKE_DTRACE_VERSION", "dtrace: Oracle D 2.0"))
            return 0
        if arg in ("-x", "-c", "-p", "-s"):
            value = argv[i + 1]
            if arg == "-x":
                name, _, val = value.partition("=")
                options[name] = val
            elif arg == "-c":
                command = value
            elif arg == "-s":
                script = value
                break
            i += 2
            continue
        i += 1
    if "droptags" in options and os.environ.get("FAKE_DTRACE_NO_DROPTAGS"):
        err("dtrace: failed to set -x droptags: Invalid option name")
        return 2
    if script is None:
        err("dtrace: fake: no -s FILE given")
        return 2
    program = read_program(script)
    scenario = next((s for s in SCENARIOS if all(m in program.text for m in s.match)), None)
    if scenario is None:
        err("dtrace: fake: no capture matches this program")
        return 2
    if scenario.privileges:
        err("dtrace: failed to initialize dtrace: DTrace requires additional privileges")
        return 1
    if scenario.compile_error:
        lines = program.text.split("\n")
        line = next((n for n, text in enumerate(lines, 1) if scenario.error_at and scenario.error_at in text), 1)
        message = "\n".join(read_capture(scenario.compile_error)).strip()
        message = re.sub(r"compile script \S+: ", f"compile script {script}: ", message)
        err(re.sub(r"line \d+:", f"line {line}:", message))
        return 1

    # Compiling against the kernel's types takes a real dtrace seconds: BEGIN comes later.
    startup = float(os.environ.get("FAKE_DTRACE_STARTUP", "0"))
    if startup and wait(startup, None):
        return 0  # stopped before tracing began: no END
    out(f"\x1edtscope-{program.nonce} started {time.monotonic_ns()} {time.time_ns()}")
    child = subprocess.Popen(shlex.split(command)) if command else None
    droptags = "droptags" in options
    ticks = 0
    stopped = False
    if program.interval is not None:
        while not stopped:
            if scenario.exit_after is not None and ticks >= scenario.exit_after:
                break
            if wait(program.interval, child):
                break
            blocks = scenario.intervals[ticks] if ticks < len(scenario.intervals) else {}
            print_snapshot(program, "interval", blocks)
            ticks += 1
            die_after = int(os.environ.get("FAKE_DTRACE_DIE_AFTER", "0")) or scenario.die_after
            if die_after is not None and ticks >= die_after:
                err(scenario.die_message)
                return scenario.die_status
        # A program that ends before its first tick prints everything at END.
        final_blocks: dict[str, Block] = scenario.whole if ticks == 0 else {}
    else:
        wait(scenario.runtime, child)
        final_blocks = scenario.whole
    if scenario.stdout and scenario.stdout_lines:
        first, last = scenario.stdout_lines
        for line in read_capture(scenario.stdout)[first - 1 : last]:
            out(line)
    stderr_file = (scenario.stderr_droptags if droptags else None) or scenario.stderr
    if stderr_file:
        for line in read_capture(stderr_file):
            if line:
                err(line)
    print_snapshot(program, "final", final_blocks)
    if child is not None and child.poll() is None:
        child.terminate()
        child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
