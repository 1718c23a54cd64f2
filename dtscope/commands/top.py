"""Live terminal UI for latency triage: a table of an aggregation's keys, updated every interval.

Each row shows the rate per second and, for histograms, p50/p90/p99/max estimated from
the buckets (linear interpolation inside the bucket that holds the rank). The selected
row's distribution (drawn as DTrace draws a quantize), rate sparkline and heat map are
below. With no script: syscall latency by process and system call.

keys: q quit, p pause, s sort, / filter, g group, z zone, +/- interval, w write the run
to JSONL, ? help.

examples:
  dtscope top                               syscall latency by process
  dtscope top syscall-latency --interval 2s
  dtscope top script.d
  dtscope top --replay run.jsonl --speed 4  play a saved run, no privileges needed
"""

from __future__ import annotations

import argparse
import os
import sys

from dtscope.collectors.base import RunOptions, TracerPermissionError
from dtscope.collectors.bpftrace import ROOT_ADVICE, BpftraceBackend
from dtscope.collectors.session import choose_backend
from dtscope.commands.run import parse_duration
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import parse
from dtscope.errors import UsageError
from dtscope.scripts import LoadedScript, load_script
from dtscope.tui.app import TopApp, tune_garbage_collector
from dtscope.tui.source import LiveSource, ReplaySource, start_stream

# Used when no script is named (and the probe library has no syscall-latency probe).
DEFAULT_D = """\
syscall:::entry
{
	self->ts = timestamp;
}

syscall:::return
/self->ts/
{
	@lat[execname, probefunc] = quantize(timestamp - self->ts);
	self->ts = 0;
}
"""
DEFAULT_PROBE = "syscall-latency"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", nargs="?", metavar="PROBE|FILE",
                        help="a probe name, a .d or .py script, or a saved .jsonl run (default: syscall latency)")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                        help="define a preprocessor macro (with -C) or a script parameter (.py)")
    parser.add_argument("--interval", metavar="I", default="1s", help="refresh every I (500ms, 1s, 10s; default 1s)")
    parser.add_argument("--backend", choices=("auto", "bpftrace", "dtrace", "replay"), default="auto",
                        help="tracer to use (default: auto)")
    parser.add_argument("--replay", metavar="FILE.jsonl", help="play a saved run instead of tracing")
    parser.add_argument("--speed", metavar="X", default="1", help="replay speed: 2 = twice as fast, max = no waiting")
    parser.add_argument("--history", metavar="N", type=int, default=120,
                        help="snapshots kept for the sparkline and heat map (default 120)")


def run(args: argparse.Namespace) -> int:
    interval = parse_duration(args.interval, "--interval")
    if args.history < 1 or args.history > 100_000:
        raise UsageError(f"--history {args.history}: must be between 1 and 100000")
    if args.script and args.replay:
        raise UsageError("give either a script or --replay FILE, not both")
    replay_path = args.replay or (args.script if args.script and args.script.endswith(".jsonl") else None)
    if replay_path is not None:
        if args.backend not in ("auto", "replay"):
            raise UsageError(f"{replay_path}: a saved run can only be replayed (--backend replay)")
        source = _replay_source(replay_path, args.speed)
    else:
        if args.backend == "replay":
            raise UsageError("--backend replay needs a saved run: --replay FILE.jsonl")
        source = _live_source(args, interval)
    if not (sys.stdout.isatty() and sys.stdin.isatty()) and not os.environ.get("DTSCOPE_TOP_HEADLESS"):
        source.stop()
        raise UsageError("dtscope top needs a terminal (use `dtscope run` to record without one)")


    tune_garbage_collector()
    app = TopApp(source, history=args.history)
    try:
        app.run()
    finally:
        source.stop()
    return app.return_code or 0


def _replay_source(path: str, speed_text: str):
    if speed_text.strip().lower() == "max":
        speed = 0.0
    else:
        try:
            speed = float(speed_text)
        except ValueError:
            raise UsageError(f"--speed {speed_text!r}: expected a number or max") from None
        if speed <= 0:
            raise UsageError(f"--speed {speed_text!r}: must be greater than zero (or max)")
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    return ReplaySource(path, speed)


def _live_source(args: argparse.Namespace, interval: float):
    script, description = _load(args.script, args.defines)
    backend = choose_backend(script, args.backend)
    options = RunOptions(interval=interval, on_output=lambda line: None)
    if backend == "bpftrace":
        # The backend finds these when the first snapshot is read, which is on screen;
        # say it here instead, before the screen opens.

        BpftraceBackend.find_binary(options.tracer_path)
        if os.geteuid() != 0:
            raise TracerPermissionError(ROOT_ADVICE)
    stream = start_stream(script, backend, options)  # rejects a bad script before the screen opens
    return LiveSource(script, backend, options, description, first_stream=stream)


def _load(spec: str | None, defines: list[str]):
    try:
        if spec is not None:
            script = load_script(spec, defines)
            return script, script.name if script.kind == "probe" else script.display_name
        try:
            script = load_script(DEFAULT_PROBE, defines)
            return script, f"{DEFAULT_PROBE} (default)"
        except UsageError:
            pass  # no such probe in this build: use the built-in D program
        if defines:
            raise UsageError("-D needs a script (the default view takes no parameters)")

        program = parse(DEFAULT_D, "<default: syscall latency>")
        script = LoadedScript(name="syscall-latency", path=None, kind="d", program=program,
                              units={"lat": "ns"}, sources={"<default: syscall latency>": DEFAULT_D})
        return script, "syscall latency (default)"
    except DiagnosticError as err:
        raise UsageError(err.format()) from None
