"""Run a D script, Python-authored script or library probe and write its aggregations.

Without --interval one snapshot at the end holds the totals of the whole run; with it,
each snapshot holds that interval alone. -o writes .jsonl, .csv or .parquet, atomically
(the file appears complete or not at all); without -o a table goes to stdout.
printf()/trace() output goes to stdout. With a terminal, progress is shown on stderr;
without one (cron) only errors are printed.

Exit status: 0 ok, 1 tracing or script errors, 2 usage errors.

examples:
  dtscope run syscalls.d --duration 10s
  dtscope run syscall-latency --duration 1m --interval 10s -o /var/log/dtscope/lat.jsonl
  dtscope run script.d -c 'make -j2' -o build.parquet
  dtscope run saved.jsonl --speed 10          replay a saved run
  dtscope run bigreads.d -x strsize=128 -- 4096 '"sshd"'   -x options, then $1 $2
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time

from dtscope.collectors.base import RunOptions, TracerError, command_words
from dtscope.collectors.output import check_output_path, format_snapshot, open_writer
from dtscope.collectors.replay import parse_speed
from dtscope.collectors.session import choose_backend, run_stream, tune_gc_for_streaming
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.errors import UsageError
from dtscope.scripts import load_script

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|ms|s|sec|secs|m|min|h|hr)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {
    None: 1.0, "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "secs": 1.0,
    "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0,
}


def parse_duration(text: str, option: str = "--duration") -> float:
    """``"500ms"`` -> 0.5, ``"10s"``/``"10"`` -> 10.0, ``"1m"`` -> 60.0; UsageError otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise UsageError(f"{option} {text!r}: expected a duration such as 500ms, 10s, 1m or 2h")
    unit = match.group(2).lower() if match.group(2) else None
    seconds = float(match.group(1)) * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise UsageError(f"{option} {text!r}: must be greater than zero")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", metavar="FILE|PROBE", help="a .d or .py script, a probe name, or a saved .jsonl run")
    parser.add_argument("--backend", choices=("auto", "bpftrace", "dtrace", "replay"), default="auto",
                        help="tracer to use (default: auto: bpftrace on Linux, dtrace elsewhere, replay for .jsonl)")
    parser.add_argument("--duration", metavar="D", help="stop after D (500ms, 10s, 1m); default: until the script exits or Ctrl-C")
    parser.add_argument("--interval", metavar="I", help="one snapshot every I, each holding that interval alone")
    parser.add_argument("-o", "--output", metavar="OUT", help="write snapshots to OUT (.jsonl, .csv or .parquet)")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                        help="define a preprocessor macro (with -C) or a script parameter (.py)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("-c", dest="target_command", metavar="CMD", help="run CMD (no shell) and trace until it exits ($target is its pid)")
    target.add_argument("-p", dest="pid", type=int, metavar="PID", help="trace process PID ($target)")
    parser.add_argument("--destructive", action="store_true", help="allow destructive actions (system(), raise()...)")
    parser.add_argument("--bpftrace", metavar="PATH", help="bpftrace binary to use")
    parser.add_argument("--dtrace", metavar="PATH", help="dtrace binary to use")
    parser.add_argument("--speed", metavar="X", help="replay speed: 2 = twice as fast, max = no waiting (default 1)")
    parser.add_argument("-x", dest="tracer_options", action="append", default=[], metavar="NAME[=VALUE]",
                        help="a DTrace option (bufsize, strsize, stackframes, ...); with bpftrace only those "
                        "it has a counterpart for (strsize, bufsize, stackframes, ustackframes, map_keys_max)")
    parser.add_argument("macro_args", nargs="*", metavar="ARG",
                        help="the script's macro arguments $1 $2 ... (write them after --)")


class Progress:
    """A status line on stderr, refreshed twice a second, only when stderr is a terminal."""
    def __init__(self, duration: float | None, enabled: bool):
        self.duration = duration
        self.enabled = enabled
        self.snapshots = 0
        self.rows = 0
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        if self.enabled:
            self._thread.start()

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        total = f"/{self.duration:g}s" if self.duration else ""
        return f"dtscope run: {elapsed:5.1f}s{total}  snapshots {self.snapshots}  rows {self.rows}"

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            sys.stderr.write("\r" + self._line() + "\x1b[K")
            sys.stderr.flush()

    def stop(self) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join(timeout=1)
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    duration = parse_duration(args.duration) if args.duration else None
    interval = parse_duration(args.interval, "--interval") if args.interval else None
    if interval is not None and duration is not None and interval > duration:
        raise UsageError(f"--interval {args.interval} is longer than --duration {args.duration}")
    if args.pid is not None:
        _check_pid(args.pid)
    if args.target_command is not None:
        command_words(args.target_command)  # -c is checked before anything starts
    if args.output:
        check_output_path(args.output)
    tracer_options = parse_tracer_options(args.tracer_options)
    if args.speed is not None:
        parse_speed(args.speed)
        tracer_options["speed"] = args.speed

    try:
        script = load_script(args.script, args.defines)
    except DiagnosticError as err:
        print(err.format(), file=sys.stderr)
        return 1
    backend = choose_backend(script, args.backend)
    options = RunOptions(
        duration=duration,
        interval=interval,
        target_command=args.target_command,
        target_pid=args.pid,
        destructive=args.destructive,
        tracer_path=args.dtrace if backend == "dtrace" else args.bpftrace,
        tracer_options=tracer_options,
        macro_args=list(args.macro_args),
        on_output=_print_output,
    )
    try:
        stream = run_stream(script, backend, options)
    except DiagnosticError as err:
        print(err.format(), file=sys.stderr)
        return 1


    tune_gc_for_streaming()
    # Ctrl-C, a cron timeout or `systemctl stop` (SIGTERM) end the run the same way: the
    # tracer prints what it has and the output file is completed.
    def stop_run(signum, frame) -> None:
        stream.stop()

    signal.signal(signal.SIGINT, stop_run)
    signal.signal(signal.SIGTERM, stop_run)
    progress = Progress(duration, enabled=sys.stderr.isatty())
    writer = None
    if args.output:
        writer = open_writer(args.output)
    written: set[int] = set()

    def consume(snap) -> None:
        progress.snapshots += 1
        progress.rows += len(snap.rows)
        _report_health(snap)
        if writer is not None:
            writer.write(snap)
        else:
            print_snapshot(snap, snap.interval is not None)
        written.add(snap.seq)

    progress.start()
    try:
        for snap in stream:
            consume(snap)
    except TracerError as err:
        progress.stop()
        for snap in err.snapshots:
            if snap.seq not in written:
                consume(snap)
        if writer is not None:
            if written:
                writer.close()
            else:
                writer.abort()
        raise
    except BaseException:
        progress.stop()
        if writer is not None:
            writer.abort()
        raise
    progress.stop()
    if writer is not None:
        writer.close()
    return 0


_OPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_tracer_options(words: list[str]) -> dict[str, str]:
    """``-x bufsize=4m -x quiet`` -> ``{"bufsize": "4m", "quiet": ""}``; the last of a name wins."""
    options: dict[str, str] = {}
    for word in words:
        name, _, value = word.partition("=")
        name = name.strip()
        if not _OPTION_NAME.match(name):
            raise UsageError(f"-x {word!r}: expected NAME=VALUE (for example -x bufsize=4m)")
        options[name] = value.strip()
    return options


def _check_pid(pid: int) -> None:
    if pid <= 0:
        raise UsageError(f"-p {pid}: not a process id")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise UsageError(f"-p {pid}: no such process") from None
    except PermissionError:
        pass  # it exists; tracing it is the tracer's business


def _print_output(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _report_health(snap) -> None:
    for error in snap.errors:
        print(f"dtscope run: tracer error: {error}", file=sys.stderr)
    for kind, count in sorted(snap.drops.items()):
        if count:
            print(f"dtscope run: {count} {kind.replace('_', ' ')} (data may be incomplete)", file=sys.stderr)


# --------------------------------------------------------------------------- table


def print_snapshot(snap, with_header: bool, out=None) -> None:
    """A readable rendering in the spirit of dtrace's printa()."""
    out = out or sys.stdout
    out.write(format_snapshot(snap, with_header))
    out.flush()
