"""The DTrace backend: run the host's ``dtrace`` and turn its printa output into snapshots.

illumos/SmartOS, FreeBSD, macOS and Oracle's DTrace for Linux share the consumer, so
one backend serves them all; what differs is the D dialect (``dtrace -V``: Oracle's
D 2.0 has neither if/else nor zonename, see :mod:`dtscope.dscript.d_dialects`).

How a run works:

1. :meth:`DTraceBackend.prepare` prints the checked program as D for the host's
   dialect and appends the interval machinery: with an interval, a ``tick-N``
   clause; always, an ``END`` clause. Each prints a framed snapshot::

       \\036dtscope-NONCE snapshot interval|final
       \\036dtscope-NONCE agg NAME          (for every aggregation)
       <printa(@NAME) in the default layout>
       \\036dtscope-NONCE end NAME
       ...
       \\036dtscope-NONCE snapshot-end

   and the tick clause ``trunc()``\\ s every aggregation after printing it, so interval
   snapshots hold what happened during the interval. The record separator (``\\036``)
   and a random nonce make the frame lines impossible to mistake for program output.
2. :meth:`DTraceBackend.stream` runs ``dtrace -q -s FILE`` (plus ``-x`` options,
   ``-w``, ``-c``/``-p`` and macro arguments) in its own session, reads stdout and
   stderr on two threads, parses each framed block with
   :func:`~dtscope.collectors.dtrace_output.parse_printa`, counts drops and runtime
   errors from stderr into the next snapshot, and stops dtrace with SIGINT (so that
   END still prints) at the end of ``--duration`` or on Ctrl-C.
"""

from __future__ import annotations

import collections
import datetime as _dt
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from dtscope.errors import UsageError

from .base import (
    Backend,
    PreparedProgram,
    RunOptions,
    TracerError,
    TracerNotFound,
    TracerPermissionError,
    deliver,
)
from .dtrace_output import DTraceOutputError, StderrEvent, classify_stderr, parse_printa
from .model import AggInfo, AggRow, Snapshot

INSTALL_ADVICE = (
    "dtrace is not installed (or not on PATH). It ships with illumos/SmartOS (/usr/sbin/dtrace), "
    "FreeBSD and macOS; on Linux build Oracle's DTrace (github.com/oracle/dtrace-utils) or use "
    "--backend bpftrace. Or name the binary with --dtrace PATH"
)
PRIVILEGE_ADVICE = (
    "DTrace requires additional privileges: run dtscope as root (or with pfexec on illumos, "
    "with the dtrace_kernel/dtrace_proc/dtrace_user privileges)"
)

# The -x options dtscope passes through (RunOptions.tracer_options); others are refused
# so that a typo does not silently change nothing.
TRACER_OPTIONS = (
    "bufsize", "aggsize", "aggrate", "switchrate", "dynvarsize", "strsize",
    "nspec", "specsize", "cleanrate", "stackframes", "ustackframes", "bufpolicy", "bufresize",
)
MARKER_PREFIX = "\x1edtscope-"
# Options that change printa()'s default layout, which the parser reads.
LAYOUT_OPTIONS = ("aggpack", "aggzoom", "aggHist", "stackindent", "rawbytes")
ERRORS_KEPT_PER_SNAPSHOT = 10  # runtime error messages kept per snapshot; the rest are counted
KEPT_ON_ERROR = 16  # snapshots a TracerError keeps (the latest; the others were yielded)
STARTUP_ALLOWANCE = 120.0  # seconds dtrace may take to compile and enable before BEGIN

_STRING_BUILTINS = frozenset(
    ["execname", "probefunc", "probemod", "probename", "probeprov", "zonename", "cwd", "root", "execargs"]
)
_STRING_FUNCTIONS = frozenset(
    ["copyinstr", "stringof", "strjoin", "basename", "dirname", "cleanpath", "lltostr", "substr", "strtok", "toupper", "tolower", "inet_ntoa", "inet_ntoa6", "inet_ntop", "ddi_pathname", "json", "strchr", "strrchr", "strstr", "getenv"]
)
_SYMBOL_FUNCTIONS = frozenset(["sym", "func", "mod", "usym", "ufunc", "umod", "uaddr"])
_INT_FUNCTIONS = frozenset(
    ["strlen", "index", "rindex", "progenyof", "rand", "htons", "htonl", "htonll", "ntohs", "ntohl", "ntohll", "strtoll"]
)


# --------------------------------------------------------------------------- prepare


def key_kind(expr) -> str:
    """How the consumer prints a key expression: "str", "sym", "int", "stack",
    "ustack", or "" when only the D compiler's type checking could tell."""
    from dtscope.dscript import ast as A
    from dtscope.dscript.builtins import BUILTIN_VARIABLES

    if isinstance(expr, A.Call):
        if expr.func == "stack":
            return "stack"
        if expr.func in ("ustack", "jstack"):
            return "ustack"
        if expr.func in _SYMBOL_FUNCTIONS:
            return "sym"
        if expr.func in _STRING_FUNCTIONS:
            return "str"
        if expr.func in _INT_FUNCTIONS:
            return "int"
        return ""
    if isinstance(expr, (A.StrLit, A.StringOf)):
        return "str"
    if isinstance(expr, (A.IntLit, A.CharLit, A.SizeOf, A.OffsetOf)):
        return "int"
    if isinstance(expr, A.MacroArg):
        return "str" if expr.string_form else "int"
    if isinstance(expr, A.Ident):
        if expr.name in _STRING_BUILTINS:
            return "str"
        return "int" if expr.name in BUILTIN_VARIABLES else ""
    if isinstance(expr, A.Cast):
        return "str" if expr.type.spec.name == "string" and not expr.type.pointers else "int"
    if isinstance(expr, (A.Binary, A.Unary, A.Postfix)):
        if isinstance(expr, A.Binary) and expr.op == ",":
            return key_kind(expr.right)
        if isinstance(expr, A.Unary) and expr.op == "*":
            return ""
        return "int"
    if isinstance(expr, A.Ternary):
        return key_kind(expr.then) or key_kind(expr.other)
    return ""


def aggregations_of(program) -> dict[str, AggInfo]:
    """Every aggregation the program feeds, by name, from its ``AggStmt`` nodes."""
    from dtscope.dscript import ast as A
    from dtscope.dscript.printer import DPrinter

    printer = DPrinter()
    found: dict[str, AggInfo] = {}
    for node in program.walk():
        if isinstance(node, A.AggStmt) and node.name not in found:
            found[node.name] = AggInfo(
                name=node.name,
                function=node.func,
                key_names=[printer.expr(k) for k in node.keys],
                key_kinds=[key_kind(k) for k in node.keys],
            )
    return found


def _tick_probe(seconds: float) -> str:
    ms = max(1, round(seconds * 1000))
    return f"tick-{ms // 1000}s" if ms % 1000 == 0 else f"tick-{ms}ms"


def machinery(aggregations: dict[str, AggInfo], nonce: str, interval: float | None) -> str:
    """The D that prints framed snapshots: a tick clause (with an interval) and END."""
    mark = "\\036dtscope-" + nonce

    def snapshot(kind: str, truncate: bool) -> str:
        lines = [f'\tprintf("{mark} snapshot {kind} %d %d\\n", timestamp, walltimestamp);']
        for name in aggregations:
            lines.append(f'\tprintf("{mark} agg {name or "@"}\\n");')
            lines.append(f"\tprinta(@{name});")
            lines.append(f'\tprintf("{mark} end {name or "@"}\\n");')
            if truncate:
                lines.append(f"\ttrunc(@{name});")
        lines.append(f'\tprintf("{mark} snapshot-end\\n");')
        return "\n".join(lines)

    parts = [
        "/* dtscope: snapshot machinery (generated) */",
        # Tracing has begun: --duration counts from here, not from dtrace's start-up
        # (compiling against the kernel's types can take seconds).
        f'BEGIN\n{{\n\tprintf("{mark} started %d %d\\n", timestamp, walltimestamp);\n}}',
    ]
    if interval is not None:
        parts.append(f"{_tick_probe(interval)}\n{{\n{snapshot('interval', True)}\n}}")
    parts.append(f"END\n{{\n{snapshot('final', False)}\n}}")
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- the backend


class DTraceBackend(Backend):
    name = "dtrace"
    STOP_GRACE_SECONDS = 10.0

    def __init__(self, dialect: str | None = None) -> None:
        """``dialect`` ("illumos" or "oracle"); None asks ``dtrace -V`` at prepare time."""
        self.dialect = dialect
        self.process: subprocess.Popen | None = None  # the running dtrace, for tests and signals
        self.stop_requested = threading.Event()

    def request_stop(self) -> None:
        """End the run early (safe from a signal handler): dtrace runs END and prints."""
        self.stop_requested.set()

    @classmethod
    def find_binary(cls, path: str | None = None) -> str:
        if path:
            found = path if os.path.isfile(path) and os.access(path, os.X_OK) else shutil.which(path)
            if found:
                return found
            raise TracerNotFound(f"--dtrace {path}: no such executable. {INSTALL_ADVICE}")
        found = shutil.which("dtrace")
        if not found:
            raise TracerNotFound(INSTALL_ADVICE)
        return found

    _dialects: ClassVar[dict[tuple[str, float], str]] = {}  # asked once per binary (and its mtime)

    @classmethod
    def detect_dialect(cls, binary: str) -> str:
        """Ask ``dtrace -V``; an unreadable answer means the illumos dialect."""
        from dtscope.dscript.d_dialects import dialect_from_version

        try:
            key = (binary, os.stat(binary).st_mtime)
        except OSError:
            key = (binary, 0.0)
        if key in cls._dialects:
            return cls._dialects[key]
        try:
            done = subprocess.run(
                [binary, "-V"], check=False, capture_output=True, text=True, errors="replace", timeout=30,
                env=_c_locale(),
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise TracerNotFound(f"cannot run {binary} -V: {err}") from None
        dialect = cls._dialects[key] = dialect_from_version(done.stdout + done.stderr)
        return dialect

    def prepare(self, program, options: RunOptions) -> PreparedProgram:
        from dtscope.dscript.checks import destructive_actions
        from dtscope.dscript.d_dialects import generator_for

        destructive = destructive_actions(program)
        if destructive and not options.destructive:
            names = ", ".join(sorted({name for name, _ in destructive}))
            where = next((str(span) for _, span in destructive if span), "")
            raise UsageError(
                f"{where + ': ' if where else ''}the program uses destructive action(s) {names}: "
                "rerun with --destructive to allow them (dtrace -w)"
            )
        _check_tracer_options(options)
        for name in program.options():
            if name in LAYOUT_OPTIONS:
                raise UsageError(
                    f"option {name} changes how dtrace prints aggregations, which dtscope reads: "
                    "remove it (dtscope does the display)"
                )
        dialect = self.dialect or self.detect_dialect(self.find_binary(options.tracer_path))
        text, source_map = generator_for(dialect).generate_mapped(program)
        aggregations = aggregations_of(program)
        nonce = secrets.token_hex(4)
        user_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        full = text + ("" if text.endswith("\n") else "\n") + "\n" + machinery(aggregations, nonce, options.interval)
        return PreparedProgram(
            text=full,
            aggregations=aggregations,
            extra={
                "nonce": nonce,
                "dialect": dialect,
                "source_map": source_map,
                "user_lines": user_lines,
                "destructive": bool(destructive),
                # -x options and -Z from the script's #! line: dtrace never sees that line.
                "interpreter_options": {
                    name: value
                    for name, value in program.interpreter_options.items()
                    if name in TRACER_OPTIONS or name == "Z"
                },
            },
        )

    def command(self, binary: str, program_path: str, options: RunOptions, droptags: bool = True,
                script_options: dict[str, str | None] | None = None) -> list[str]:
        cmd = [binary, "-q"] + (["-x", "droptags"] if droptags else [])
        script_options = dict(script_options or {})
        if script_options.pop("Z", "absent") != "absent":
            cmd.append("-Z")
        merged = {**script_options, **options.tracer_options}  # the command line wins
        for name, value in merged.items():
            if name in _OTHER_BACKENDS_OPTIONS:
                continue
            cmd += ["-x", f"{name}={value}" if value not in (None, "") else name]
        if options.interval is not None:
            # The consumer reads aggregations at aggrate and buffers at switchrate: read
            # them often enough that each tick's printa shows that interval's data.
            for name in ("aggrate", "switchrate"):
                if name not in options.tracer_options:
                    cmd += ["-x", f"{name}={_rate_for(options.interval)}"]
        if options.destructive:
            cmd.append("-w")
        if options.target_command:
            cmd += ["-c", options.target_command]
        if options.target_pid is not None:
            cmd += ["-p", str(options.target_pid)]
        return cmd + ["-s", program_path, *options.macro_args]

    def stream(self, prepared: PreparedProgram, options: RunOptions) -> Iterator[Snapshot]:
        binary = self.find_binary(options.tracer_path)
        if prepared.extra.get("destructive") and not options.destructive:
            raise UsageError("the program uses destructive actions: rerun with --destructive (dtrace -w)")
        name = _safe_name(str(prepared.extra.get("name", "program")))
        with tempfile.TemporaryDirectory(prefix="dtscope-") as workdir:
            program_path = os.path.join(workdir, f"{name}.d")
            with open(program_path, "w") as fh:
                fh.write(prepared.text)
            script_options = prepared.extra.get("interpreter_options") or {}
            cmd = self.command(binary, program_path, options, script_options=script_options)
            run = _DTraceRun(self, cmd, program_path, prepared, options)
            try:
                yield from run.snapshots()
            except _NoDroptags:
                # An older consumer without -x droptags: drops are still read from
                # their untagged wording.
                cmd = self.command(binary, program_path, options, droptags=False, script_options=script_options)
                yield from _DTraceRun(self, cmd, program_path, prepared, options).snapshots()


DtraceBackend = DTraceBackend  # the spelling collectors.session imports


# Options other backends take that mean nothing to dtrace.
_OTHER_BACKENDS_OPTIONS = ("speed",)


def _check_tracer_options(options: RunOptions) -> None:
    for name in options.tracer_options:
        if name not in TRACER_OPTIONS and name not in _OTHER_BACKENDS_OPTIONS:
            raise UsageError(
                f"-x {name}: not an option dtscope passes to dtrace (known: {', '.join(TRACER_OPTIONS)})"
            )


def _rate_for(interval: float) -> str:
    hz = max(10, min(100, round(20 / max(interval, 0.01))))
    return f"{hz}hz"


def _c_locale() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # messages are parsed: keep them in English
    return env


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(name)) or "program"


def _clock_words(text: str) -> tuple[int | None, int | None]:
    """``"123 456"`` (timestamp, walltimestamp) from a frame line; None where absent."""
    words = text.split()
    values = [int(w) if w.lstrip("-").isdigit() else None for w in words[:2]]
    values += [None] * (2 - len(values))
    return values[0], values[1]


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


# --------------------------------------------------------------------------- one run


class _NoDroptags(Exception):
    """dtrace refused ``-x droptags`` (consumers older than 2012 lack it)."""


@dataclass
class _Frame:
    """The snapshot being read from stdout."""

    kind: str
    clock: int | None = None  # dtrace's timestamp (ns) when the snapshot was taken
    wall: int | None = None  # its walltimestamp (ns since the epoch)
    rows: list[AggRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    agg: str | None = None
    block: list[str] = field(default_factory=list)


class _DTraceRun:
    """One dtrace child process: readers, framing, stderr events, stop, errors."""

    def __init__(self, backend: DTraceBackend, cmd: list[str], program_path: str,
                 prepared: PreparedProgram, options: RunOptions):
        self.backend = backend
        self.cmd = cmd
        self.program_path = program_path
        self.prepared = prepared
        self.options = options
        self.aggregations = prepared.aggregations
        self.marker = MARKER_PREFIX + str(prepared.extra.get("nonce", ""))
        self.events: queue.Queue = queue.Queue()
        # What a TracerError hands back: the latest snapshots (the consumer has had them
        # all; a run that streams for days must not hold every one).
        self.collected: collections.deque[Snapshot] = collections.deque(maxlen=KEPT_ON_ERROR)
        self.snapshot_count = 0
        self.frame: _Frame | None = None
        self.final: Snapshot | None = None
        self.drops: dict[str, int] = {}
        self.errors: list[str] = []
        self.more_errors = 0  # runtime errors past ERRORS_KEPT_PER_SNAPSHOT
        self.compile_errors: list[StderrEvent] = []
        self.fatal: list[str] = []
        self.privileges = False
        self.seq = 0
        self.last_snapshot = time.monotonic()
        self.stop_sent_at: float | None = None
        self.started_at: float | None = None  # when dtrace's BEGIN ran
        self.last_clock: int | None = None  # dtrace's timestamp at BEGIN or the last snapshot

    # -- readers (threads): they only put lines on the queue

    def _read(self, stream, source: str) -> None:
        for line in stream:
            self.events.put((source, line.rstrip("\n")))
        self.events.put((source, None))

    # -- stdout

    def _output(self, line: str) -> None:
        if self.options.on_output is not None:
            self.options.on_output(line)
        else:
            print(line, flush=True)

    def _stdout_line(self, line: str) -> Snapshot | None:
        at = line.find(self.marker)
        if at < 0:
            if self.frame is not None and self.frame.agg is not None:
                self.frame.block.append(line)
            elif self.final is None or line.strip():
                self._output(line)
            return None
        if at > 0:
            self._output(line[:at])  # program output without its newline, then our frame
        words = line[at + len(self.marker) :].strip().split(" ", 1)
        what, arg = words[0], (words[1] if len(words) > 1 else "")
        if what == "started":
            self.started_at = time.monotonic()
            self.last_clock = _clock_words(arg)[0]
        elif what == "snapshot":
            kind, _, clocks = arg.partition(" ")
            clock, wall = _clock_words(clocks)
            self.frame = _Frame(kind=kind, clock=clock, wall=wall)
        elif self.frame is None:
            return None
        elif what == "agg":
            self.frame.agg, self.frame.block = ("" if arg == "@" else arg), []
        elif what == "end":
            self._finish_block()
        elif what == "snapshot-end":
            return self._finish_frame()
        return None

    def _finish_block(self) -> None:
        frame = self.frame
        if frame is None or frame.agg is None:
            return  # an end frame without its start: nothing to read
        block = frame.block
        if block and block[0] == "":
            block = block[1:]  # printa() prints a newline before the rows
        info = self.aggregations.get(frame.agg)
        function = info.function if info else "count"
        try:
            frame.rows.extend(parse_printa("\n".join(block), frame.agg, function, info.key_kinds if info else ()))
        except DTraceOutputError as err:
            frame.errors.append(f"@{frame.agg}: cannot read dtrace's printa output: {err}")
        frame.agg, frame.block = None, []

    def _finish_frame(self) -> Snapshot | None:
        frame = self.frame
        assert frame is not None
        self.frame = None
        now = time.monotonic()
        final = frame.kind == "final"
        interval = self.options.interval
        if interval is not None:
            # What the snapshot covers, by dtrace's own clock when it printed it: a
            # tick that fired late (or not at all) makes a longer interval.
            if frame.clock is not None and self.last_clock is not None:
                interval = round((frame.clock - self.last_clock) / 1e9, 3)
            elif final:
                interval = round(now - self.last_snapshot, 3)
        self.last_snapshot, self.last_clock = now, frame.clock
        when = _utcnow()
        if frame.wall:
            when = _dt.datetime.fromtimestamp(frame.wall / 1e9, _dt.UTC)
        snap = Snapshot(
            time=when,
            rows=frame.rows,
            seq=self.seq,
            interval=interval,
            errors=frame.errors,
            tracer_state="exited" if final else "running",
            final=final,
            aggregations=self.aggregations,
        )
        self.seq += 1
        if final:
            # Kept until dtrace exits: drop counts it reports on the way out belong here.
            self.final = snap
            return None
        self._take_stderr_events(snap)
        return snap

    def _take_stderr_events(self, snap: Snapshot) -> None:
        for kind, count in self.drops.items():
            snap.drops[kind] = snap.drops.get(kind, 0) + count
        snap.errors.extend(self.errors)
        if self.more_errors:
            snap.errors.append(f"... and {self.more_errors} more runtime error(s)")
        self.drops, self.errors, self.more_errors = {}, [], 0

    # -- stderr

    def _stderr_line(self, line: str) -> None:
        if not line.strip():
            return
        event = classify_stderr(line)
        if event.kind == "drop":
            self.drops[event.drop_kind] = self.drops.get(event.drop_kind, 0) + event.count
        elif event.kind == "runtime_error":
            # A faulting clause reports once per firing: keep a few, count the rest.
            if len(self.errors) < ERRORS_KEPT_PER_SNAPSHOT:
                self.errors.append(event.message)
            else:
                self.more_errors += 1
        elif event.kind == "compile_error":
            self.compile_errors.append(event)
        elif event.kind == "privileges":
            self.privileges = True
            self.fatal.append(event.message)
        elif event.kind == "other":
            self.fatal.append(event.message.replace(self.program_path, "<generated D>"))

    # -- process

    def _stop(self, proc: subprocess.Popen) -> None:
        if self.stop_sent_at is None and proc.poll() is None:
            self.stop_sent_at = time.monotonic()
            try:
                proc.send_signal(signal.SIGINT)  # dtrace fires END, which prints the final snapshot
            except ProcessLookupError:
                pass

    def snapshots(self) -> Iterator[Snapshot]:
        options = self.options
        try:
            proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                bufsize=1,
                env=_c_locale(),
                # Its own session: Ctrl-C reaches only us; we stop dtrace so END still prints.
                start_new_session=True,
            )
        except OSError as err:
            raise TracerNotFound(f"cannot run {self.cmd[0]}: {err}. {INSTALL_ADVICE}") from None
        self.backend.process = proc
        readers = [
            threading.Thread(target=self._read, args=(proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, "err"), daemon=True),
        ]
        for reader in readers:
            reader.start()
        launched = time.monotonic()
        expected = (
            max(1, round(options.duration / options.interval))
            if options.duration and options.interval
            else None
        )
        open_streams = 2
        returncode: int | None = None
        try:
            while open_streams:
                try:
                    source, line = self.events.get(timeout=0.2)
                except queue.Empty:
                    source, line = "", ""
                except KeyboardInterrupt:
                    self._stop(proc)
                    continue
                if line is None:
                    open_streams -= 1
                elif source == "out":
                    snap = self._stdout_line(line)
                    if snap is not None:
                        yield from deliver(self, proc, snap, expected)
                elif source == "err":
                    self._stderr_line(line)
                now = time.monotonic()
                if options.duration:
                    # The duration runs from BEGIN; the start-up allowance is a backstop
                    # for a dtrace that never gets there. With an interval the snapshot
                    # count ends the run and the clock, an interval later, is the backstop.
                    begun = self.started_at if self.started_at is not None else launched + STARTUP_ALLOWANCE
                    # Half an interval lets a late tick count; a tick that never comes
                    # (Oracle's skip under load) loses nothing: END prints the rest.
                    grace = 0.5 * options.interval if expected is not None else 0.0
                    if now >= begun + options.duration + grace:
                        self._stop(proc)
                if self.backend.stop_requested.is_set():
                    self._stop(proc)
                if self.stop_sent_at is not None and now - self.stop_sent_at > self.backend.STOP_GRACE_SECONDS:
                    proc.kill()
            returncode = proc.wait()
        finally:
            if proc.poll() is None:
                self._stop(proc)
                try:
                    proc.wait(timeout=self.backend.STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        yield from self._finish(returncode)

    def _finish(self, returncode: int) -> Iterator[Snapshot]:
        stopped_by_us = self.stop_sent_at is not None
        ok = returncode == 0 or (stopped_by_us and returncode == -signal.SIGINT)
        if ok and self.final is not None:
            final = self.final
            self._take_stderr_events(final)
            self.collected.append(final)
            self.snapshot_count += 1
            yield final
            return
        if not self.snapshot_count and any("droptags" in m for m in self.fatal) and "droptags" in self.cmd:
            raise _NoDroptags()
        if self.privileges:
            raise TracerPermissionError(PRIVILEGE_ADVICE + "\ndtrace said: " + "\n".join(self.fatal))
        if self.compile_errors:
            raise TracerError(self._compile_message(), snapshots=list(self.collected))
        text = "\n".join(self.fatal)
        if ok and stopped_by_us and self.started_at is None:
            how = "was stopped before tracing began"
        elif ok:
            how = "ended without printing its final snapshot"
        elif returncode < 0:
            how = f"was killed by signal {-returncode}"
        else:
            how = f"exited with status {returncode}"
        if self.final is not None:
            self._take_stderr_events(self.final)
            self.final.tracer_state = "failed"
            self.collected.append(self.final)
            self.snapshot_count += 1
        elif self.snapshot_count or self.frame is not None:
            # What it printed of the snapshot it was in the middle of is lost: say so.
            failed = Snapshot(time=_utcnow(), seq=self.seq, interval=None, tracer_state="failed",
                              final=True, aggregations=self.aggregations)
            self._take_stderr_events(failed)
            failed.errors.append(f"dtrace {how}")
            self.collected.append(failed)
            self.snapshot_count += 1
        raise TracerError(
            f"dtrace {how}, after {self.snapshot_count} snapshot(s)" + (f":\n{text}" if text else ""),
            snapshots=list(self.collected),
        )

    def _compile_message(self) -> str:
        """dtrace's compile errors, at the user's file and line where we know it."""
        source_map = self.prepared.extra.get("source_map")
        user_lines = int(self.prepared.extra.get("user_lines", 0) or 0)
        out = []
        for event in self.compile_errors:
            tag = f" [{event.tag}]" if event.tag else ""
            where = ""
            if event.line is not None:
                span = source_map.lookup(event.line) if source_map is not None else None
                if span is not None and event.line <= user_lines:
                    where = f"{span.file}:{span.line}: "
                elif event.line > user_lines:
                    where = f"<dtscope snapshot machinery>:{event.line - user_lines}: "
                else:
                    where = f"<generated D>:{event.line}: "
            out.append(f"{where}error: {event.message}{tag}")
        return "dtrace rejected the program:\n" + "\n".join(out)
