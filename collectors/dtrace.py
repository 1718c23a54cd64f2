"""The DTrace backend: run the host's ``dtrace`` and turn its printa output into snapshots.

illumos/SmartOS, FreeBSD, macOS and Oracle's DTrace for Linux share the consumer, so
one backend serves them all; what differs is the D dialect (``dtrace -V``: Oracle's
D 2.0 has neither if/else nor zonename). The program, with the snapshot machinery that
frames each snapshot in its output, comes from the dialect's target
(:func:`dtscope.dscript.d_dialects.lower`); this backend supplies the command line
(``dtrace -q -s FILE`` plus ``-x`` options, ``-w``, ``-c``/``-p`` and macro arguments) and
:class:`DTraceReader`, which parses each framed block with
:func:`~dtscope.collectors.dtrace_output.parse_printa`, counts drops and runtime errors
from stderr into the next snapshot, and reports compile errors at the user's file and
line. The run is :mod:`.runner`'s: dtrace is stopped with one SIGINT (a second one would
make it exit without printing), so that END still prints.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import ClassVar

from dtscope.dscript import d_dialects
from dtscope.dscript.aggregations import AggInfo
from dtscope.dscript.checks import destructive_actions
from dtscope.dscript.lowered import DTraceFraming
from dtscope.dscript.script import LoadedScript
from dtscope.dscript.targets import TARGETS

from dtscope.errors import UsageError

from .base import (
    Backend,
    PreparedRun,
    RunOptions,
    TracerError,
    TracerNotFound,
    TracerPermissionError,
)
from .dtrace_output import DTraceOutputError, StderrEvent, classify_stderr, parse_printa
from .model import AggRow, Snapshot
from .runner import StopPolicy, TracerRun

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
# Options that change printa()'s default layout, which the parser reads.
LAYOUT_OPTIONS = ("aggpack", "aggzoom", "aggHist", "stackindent", "rawbytes")
ERRORS_KEPT_PER_SNAPSHOT = 10  # runtime error messages kept per snapshot; the rest are counted
STARTUP_ALLOWANCE = 120.0  # seconds dtrace may take to compile and enable before BEGIN
# Options other backends take that mean nothing to dtrace.
_OTHER_BACKENDS_OPTIONS = ("speed",)


# --------------------------------------------------------------------------- the backend


@dataclass
class DTracePrepared(PreparedRun):
    # -x options and -Z from the script's #! line: dtrace never sees that line.
    script_options: dict[str, str | None] = field(default_factory=dict)
    destructive: bool = False

    @property
    def framing(self) -> DTraceFraming:
        framing = self.program.framing
        assert isinstance(framing, DTraceFraming)
        return framing


class DTraceBackend(Backend):
    name = "dtrace"
    STOP_GRACE_SECONDS = 10.0

    def __init__(self, dialect: str | None = None) -> None:
        """``dialect`` ("illumos" or "oracle"); None asks ``dtrace -V`` at prepare time."""
        self.dialect = dialect

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
        dialect = cls._dialects[key] = d_dialects.dialect_from_version(done.stdout + done.stderr)
        return dialect

    def prepare(self, script: LoadedScript, options: RunOptions) -> DTracePrepared:
        program = script.program
        if program is None:
            raise UsageError(f"{script.display_name}: a saved run has no program to run")
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
        lowered = TARGETS[dialect].lower(program, interval=options.interval)
        return DTracePrepared(
            program=lowered,
            name=script.name,
            script_options={
                name: value
                for name, value in program.interpreter_options.items()
                if name in TRACER_OPTIONS or name == "Z"
            },
            destructive=bool(destructive),
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

    def start(self, prepared: PreparedRun, options: RunOptions) -> DTraceRun:
        if not isinstance(prepared, DTracePrepared):
            raise TypeError("the dtrace backend runs what it prepared")
        if prepared.destructive and not options.destructive:
            raise UsageError("the program uses destructive actions: rerun with --destructive (dtrace -w)")
        return DTraceRun(self, prepared, options)


class DTraceRun:
    """A dtrace run; an older consumer without ``-x droptags`` is run again without it."""

    def __init__(self, backend: DTraceBackend, prepared: DTracePrepared, options: RunOptions) -> None:
        self.backend = backend
        self.prepared = prepared
        self.options = options
        self.current: TracerRun | None = None
        self.stopped = False

    def request_stop(self) -> None:
        self.stopped = True
        if self.current is not None:
            self.current.request_stop()

    @property
    def process(self) -> subprocess.Popen | None:
        return self.current.process if self.current is not None else None

    def _run(self, droptags: bool) -> TracerRun:
        backend, prepared, options = self.backend, self.prepared, self.options
        binary = backend.find_binary(options.tracer_path)
        reader = DTraceReader(prepared.framing, prepared.aggregations, options, droptags=droptags)
        run = TracerRun(
            command=lambda path: backend.command(
                binary, path, options, droptags=droptags, script_options=prepared.script_options
            ),
            program=prepared, suffix="d", label="<generated D>", reader=reader, options=options,
            policy=StopPolicy(grace=backend.STOP_GRACE_SECONDS, startup_allowance=STARTUP_ALLOWANCE,
                              # Half an interval lets a late tick count; a tick that never
                              # comes (Oracle's skip under load) loses nothing: END prints the rest.
                              interval_grace=lambda interval: 0.5 * interval),
            env=_c_locale(), install_advice=INSTALL_ADVICE,
        )
        self.current = run
        if self.stopped:
            run.request_stop()
        return run

    def __iter__(self):
        try:
            yield from self._run(droptags=True)
        except _NoDroptags:
            # An older consumer without -x droptags: drops are still read from their
            # untagged wording.
            yield from self._run(droptags=False)


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


class DTraceReader:
    """dtrace's standard output and error, read into snapshots (an OutputReader).

    Lines outside the frames are the program's own output (``on_output``); each framed
    block is one aggregation's printa output; stderr lines are drops, runtime errors,
    compile errors or fatal messages.
    """

    def __init__(self, framing: DTraceFraming, aggregations: dict[str, AggInfo], options: RunOptions,
                 *, droptags: bool = True):
        self.framing = framing
        self.options = options
        self.droptags = droptags
        self.aggregations = aggregations
        self.marker = framing.marker
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
        self.started = False  # dtrace's BEGIN ran
        self.last_clock: int | None = None  # dtrace's timestamp at BEGIN or the last snapshot

    def stdout(self, line: str) -> list[Snapshot]:
        snap = self._stdout_line(line)
        return [snap] if snap is not None else []

    def stderr(self, line: str) -> None:
        self._stderr_line(line)

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
            self.started = True
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
            frame.rows.extend(parse_printa("\n".join(block), frame.agg, function,
                                           info.key_kinds if info else (), params=info.params if info else ()))
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
            self.fatal.append(event.message)

    def finish(self, returncode: int, stopped_by_us: bool, delivered: int) -> list[Snapshot]:
        ok = returncode == 0 or (stopped_by_us and returncode == -signal.SIGINT)
        if ok and self.final is not None:
            self._take_stderr_events(self.final)
            return [self.final]
        if not delivered and any("droptags" in m for m in self.fatal) and self.droptags:
            raise _NoDroptags()
        if self.privileges:
            raise TracerPermissionError(PRIVILEGE_ADVICE + "\ndtrace said: " + "\n".join(self.fatal))
        if self.compile_errors:
            raise TracerError(self._compile_message())
        text = "\n".join(self.fatal)
        if ok and stopped_by_us and not self.started:
            how = "was stopped before tracing began"
        elif ok:
            how = "ended without printing its final snapshot"
        elif returncode < 0:
            how = f"was killed by signal {-returncode}"
        else:
            how = f"exited with status {returncode}"
        last: list[Snapshot] = []
        if self.final is not None:
            self._take_stderr_events(self.final)
            self.final.tracer_state = "failed"
            last.append(self.final)
        elif delivered or self.frame is not None:
            # What it printed of the snapshot it was in the middle of is lost: say so.
            failed = Snapshot(time=_utcnow(), seq=self.seq, interval=None, tracer_state="failed",
                              final=True, aggregations=self.aggregations)
            self._take_stderr_events(failed)
            failed.errors.append(f"dtrace {how}")
            last.append(failed)
        raise TracerError(
            f"dtrace {how}, after {delivered + len(last)} snapshot(s)" + (f":\n{text}" if text else ""),
            snapshots=last,
        )

    def _compile_message(self) -> str:
        """dtrace's compile errors, at the user's file and line where we know it."""
        source_map = self.framing.source_map
        user_lines = self.framing.user_lines
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
