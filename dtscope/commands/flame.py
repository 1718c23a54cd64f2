"""Profile the CPU and render a flame graph, or render saved stacks.

examples:
  dtscope flame --duration 10s -o cpu.svg              the whole host: process, kernel stack
  dtscope flame --pid 1234 -o app.svg                  one process: user and kernel stacks
  dtscope flame --zone web --stacks user -o web.svg    one zone (container), user stacks
  dtscope flame --input out.folded -o cpu.svg          folded stacks, DTrace or bpftrace
                                                       output, or a dtscope JSONL run
  dtscope flame --input run.jsonl -o cpu.json          speedscope JSON (by extension)
  dtscope flame --diff before.folded after.folded -o diff.svg

Outputs by extension or --format: .svg (interactive: click to zoom, Search, hover),
.folded/.txt (folded stacks), .json (speedscope). In the SVG, user frames are warm
colours and kernel frames blue; a diff is sized by AFTER and coloured red where AFTER
grew, blue where it shrank (BEFORE scaled to AFTER's total).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from dtscope.collectors.model import atomic_write, write_jsonl
from dtscope.dscript import ast as A
from dtscope.dscript.script import LoadedScript
from dtscope.errors import UsageError, UserError
from dtscope.exporters import flame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("what to draw (default: profile the host now)")
    source.add_argument("--input", metavar="FILE", help="saved stacks to render ('-' = stdin)")
    source.add_argument("--diff", nargs=2, metavar=("BEFORE", "AFTER"), help="differential flame graph")
    source.add_argument("--input-format", default="auto",
                        choices=["auto", "folded", "dtrace", "bpftrace", "bpftrace-json", "jsonl"],
                        help="format of --input/--diff files (default: detect)")
    source.add_argument("--aggregation", metavar="NAME",
                        help="which aggregation or map to draw when the input has several")
    live = parser.add_argument_group("live profiling")
    live.add_argument("--duration", default="10s", help="how long to profile (default 10s; 500ms, 2m...)")
    live.add_argument("--hz", type=int, default=99, help="samples per second per CPU (default 99)")
    who = live.add_mutually_exclusive_group()
    who.add_argument("--pid", type=int, help="only this process")
    who.add_argument("--zone", help="only this zone (on Linux: the container's cgroup, via the backend)")
    live.add_argument("--stacks", choices=["user", "kernel", "both"], default=None,
                      help="which stacks to sample (default: both with --pid or --zone, kernel for "
                           "the whole host, where resolving every process's user symbols is slow)")
    live.add_argument("--backend", default="auto", choices=["auto", "bpftrace", "dtrace"],
                      help="tracer (default auto: bpftrace on Linux, dtrace elsewhere)")
    live.add_argument("--save", metavar="RUN.jsonl", help="also save the profile as a dtscope run")
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", required=True, metavar="OUT", help="output file ('-' = stdout)")
    out.add_argument("--format", choices=["svg", "folded", "speedscope"], help="default: by OUT's extension")
    out.add_argument("--title", help="title of the graph")
    out.add_argument("--reverse", action="store_true", help="icicle graph: roots at the top")
    out.add_argument("--min-width", default="0.1", metavar="PX",
                     help="SVG: omit frames narrower than PX pixels, or N%% of all samples (default 0.1)")
    out.add_argument("--width", type=int, default=1200, help="SVG width in pixels (default 1200)")
    out.add_argument("--raw-diff", action="store_true",
                     help="with --diff: compare raw counts instead of scaling BEFORE to AFTER's total")


def run(args: argparse.Namespace) -> int:
    if args.input and args.diff:
        raise UsageError("--input and --diff cannot be combined")
    if args.width < 100:
        raise UsageError("--width must be at least 100 pixels")
    try:
        fmt = flame.output_format(args.output, args.format) if args.output != "-" else (args.format or "folded")
        before = None
        if args.diff:
            if fmt == "speedscope":
                raise UsageError("speedscope output cannot show a diff: use .svg or .folded")
            old = _load(args.diff[0], args)
            new = _load(args.diff[1], args)
            profile, before = flame.diff_profiles(old, new, normalize=not args.raw_diff)
            title = args.title or "Differential Flame Graph"
        elif args.input:
            profile = _load(args.input, args)
            title = args.title or "Flame Graph"
        else:
            profile = _profile_live(args)
            title = args.title or "CPU Flame Graph"
        for warning in profile.warnings:
            print(f"dtscope flame: warning: {warning}", file=sys.stderr)
        if profile.dropped_empty:
            print(f"dtscope flame: {profile.dropped_empty} samples had no frames at all and are "
                  "not drawn", file=sys.stderr)
        if not profile.stacks:
            raise UserError("no stacks to draw (the input or the profile is empty)")
        if fmt == "svg":
            options = flame.SvgOptions(title=title, width=args.width, min_width=args.min_width,
                                       reverse=args.reverse)
            text = flame.render_svg(profile, options, before)
        elif fmt == "folded":
            text = flame.render_folded(profile, before)
        else:
            text = flame.render_speedscope(profile, title)
    except flame.FlameInputError as err:
        raise UserError(str(err)) from None
    _write(args.output, text)
    return 0


def _load(path: str, args: argparse.Namespace):
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    try:
        return flame.parse_stacks(text, args.input_format, args.aggregation)
    except flame.FlameInputError as err:
        raise UserError(f"{path}: {err}") from None


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        atomic_write(path, lambda fh: fh.write(text))
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror}") from None


# --------------------------------------------------------------------------- live

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"--duration: {text!r} is not a duration (examples: 500ms, 10s, 2m)")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    if value <= 0:
        raise UsageError("--duration must be more than zero")
    return value


# --stacks -> the probe of the library that samples them (each keyed by process too).
PROFILE_PROBES = {"both": "cpu-profile", "user": "cpu-profile-user", "kernel": "cpu-profile-kernel"}


def profile_script(hz: int, stacks: str, pid: int | None = None, zone: str | None = None) -> LoadedScript:
    """The library's profile probe for ``stacks``, sampling at ``hz``, narrowed to one
    process or zone by a predicate on every clause."""
    from dtscope.scripts import load_script  # the front end: only for live profiling
    script = load_script(PROFILE_PROBES[stacks], {"hz": str(hz)})
    condition = None
    if pid is not None:
        condition = A.Binary("==", A.Ident("pid"), A.IntLit(str(pid)))
    elif zone is not None:
        condition = A.Binary("==", A.Ident("zonename"), A.StrLit(A.encode_string(zone)))
    if condition is not None and script.program is not None:
        for clause in script.program.clauses:
            clause.predicate = condition if clause.predicate is None else A.Binary("&&", clause.predicate, condition)
    return script


def _profile_live(args: argparse.Namespace):
    if not 1 <= args.hz <= 10000:
        raise UsageError("--hz must be between 1 and 10000")
    if args.pid is not None and args.pid <= 0:
        raise UsageError("--pid must be a positive process id")
    duration = parse_duration(args.duration)
    if args.stacks is None:
        args.stacks = "both" if (args.pid is not None or args.zone is not None) else "kernel"
    script = profile_script(args.hz, args.stacks, args.pid, args.zone)
    from dtscope.collectors import session  # the backends: only for live profiling
    from dtscope.collectors.base import RunOptions, TracerError
    # Snapshots every second, each cleared after printing: the tracer resolves symbols
    # for one second of stacks at a time instead of all of them at exit, which on a busy
    # host can take longer than the backend waits for it.
    # The program prints nothing itself: tracer output that is not data is noise, and
    # must not end up in a graph written to stdout.
    options = RunOptions(duration=duration, interval=min(1.0, duration), on_output=lambda line: None)
    if args.pid is not None and args.stacks != "kernel":
        # bpftrace resolves each user stack by reading the process's maps and ELF files
        # anew unless told to cache, which takes seconds per thousand stacks. The cache
        # is keyed by executable, so it is exact only for one process: use it with --pid.
        os.environ.setdefault("BPFTRACE_CACHE_USER_SYMBOLS", "1")
    try:
        snapshots = list(session.run_stream(script, args.backend, options))
    except TracerError as err:
        kept = [s for s in err.snapshots if s.tracer_state != "failed" and s.rows]
        if not kept:
            if args.stacks != "kernel" and args.pid is None and "before the run ended" in str(err):
                raise UserError(f"{err}\n(resolving the user stacks of many processes is slow; try "
                                "--pid, --stacks kernel, or a lower --hz)", err.exit_code) from None
            raise
        print(f"dtscope flame: warning: {err}; drawing the {len(kept)} complete snapshot(s)",
              file=sys.stderr)
        snapshots = kept
    if args.save:
        atomic_write(args.save, lambda fh: write_jsonl(snapshots, fh))
    try:
        return flame.profile_from_snapshots(snapshots)
    except flame.FlameInputError as err:
        raise UserError(f"the profile: {err}") from None
