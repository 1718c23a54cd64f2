"""The bpftrace backend: run a lowered D program under ``bpftrace -f json``.

The lowering (:mod:`dtscope.dscript.bpftrace`) gives the program and its framing: the maps
that hold each aggregation, written down in :mod:`dtscope.dscript.bpftrace.maps`. This
backend supplies what is particular to bpftrace: the binary, the command line, the
environment that carries DTrace's options (:func:`resolve_options`), and the reader of its
output (:class:`BpftraceReader`: :mod:`.bpftrace_output` parses the lines,
:mod:`.bpftrace_assembler` makes the snapshots). The run itself is :mod:`.runner`'s.

Options: the script's ``#!``/``#pragma D option`` settings, then ``-x``
(``RunOptions.tracer_options``), become environment variables for bpftrace (strsize,
bufsize, map_keys_max), arguments of the lowering (stackframes, ustackframes), nothing
(quiet, defaultargs), or a UsageError naming the option. Macro arguments are substituted
into the program by the lowering.
"""

from __future__ import annotations

import collections
import os
import re
import shlex
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from dtscope.dscript.aggregations import AggInfo
from dtscope.dscript.bpftrace.maps import BpftraceFraming, MapInfo, aggregations_of_maps
from dtscope.dscript.lowered import Lowered
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
    command_words,
)
from .bpftrace_assembler import SnapshotAssembler
from .bpftrace_output import HARMLESS_STDERR, STACK_LOOKUP
from .linux_host import LinuxHost
from .model import Snapshot
from .runner import StopPolicy, TracerRun

INSTALL_ADVICE = (
    "bpftrace is not installed (or not on PATH). Install it with `apt-get install bpftrace` "
    "(Debian/Ubuntu) or `dnf install bpftrace` (Fedora), or pass --bpftrace PATH"
)
ROOT_ADVICE = (
    "bpftrace must run as root: run dtscope with sudo (loading BPF programs needs CAP_BPF, "
    "CAP_PERFMON and CAP_SYS_RESOURCE, or CAP_SYS_ADMIN on kernels before 5.8, and "
    "bpftrace 0.17 also insists on uid 0)"
)


# Default BPFTRACE_MAP_KEYS_MAX is 4096; a per-process or per-path aggregation passes that
# on a busy host, and bpftrace silently stops adding keys.
DEFAULT_MAP_KEYS_MAX = 16384
# DTrace options (-x NAME=VALUE, #pragma D option) that bpftrace has a setting for.
# bufsize is bytes per CPU in DTrace; bpftrace counts pages of its perf ring buffer.
TRACER_OPTION_ENV = {
    "strsize": "BPFTRACE_STRLEN",
    "bufsize": "BPFTRACE_PERF_RB_PAGES",
    "map_keys_max": "BPFTRACE_MAP_KEYS_MAX",  # bpftrace's own: most keys per aggregation
}
# Options that become arguments of the lowering (stack() / ustack() without a depth).
LOWERING_OPTIONS = {"stackframes": "stack_frames", "ustackframes": "ustack_frames"}
# Options with nothing to do under bpftrace: quiet (bpftrace never prints DTrace's default
# "CPU ID FUNCTION:NAME" lines, so it is always quiet), defaultargs (read by the lowering),
# destructive (checked with --destructive), and the preprocessor's flags.
NO_EFFECT_OPTIONS = frozenset(("quiet", "defaultargs", "destructive", "C", "Z", "zdefs"))
# DTrace buffer and rate tuning with no bpftrace setting. They change no result, so a
# script's #pragma may carry them (ignored); asked for with -x they are refused.
DTRACE_TUNING_OPTIONS = frozenset(
    ("aggsize", "aggrate", "switchrate", "dynvarsize", "nspec", "specsize", "cleanrate", "bufresize", "statusrate")
)
MAX_STRLEN = 200  # bpftrace 0.17 refuses a longer BPFTRACE_STRLEN
_OTHER_BACKENDS_OPTIONS = frozenset(("speed",))  # replay's, carried in the same dict
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)b?\s*$", re.IGNORECASE)
PAGE_SIZE = 4096


def ring_buffer_pages(size: str) -> int:
    """DTrace's bufsize ("4m", "512k", "65536") -> perf ring buffer pages (a power of two)."""
    match = _SIZE.match(str(size))
    if not match:
        raise UsageError(f"bufsize {size!r}: expected a size such as 64k or 4m")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    pages = max(1, int(match.group(1)) * scale // PAGE_SIZE)
    return 1 << (pages.bit_length() - 1)


def _positive_int(name: str, value: str | None, where: str) -> int:
    try:
        number = int(str(value), 0)
    except ValueError:
        number = 0
    if number <= 0:
        raise UsageError(f"{where} {name}={value}: expected a positive integer")
    return number


def resolve_options(
    script_options: dict[str, str | None], tracer_options: dict[str, str]
) -> tuple[dict[str, str], dict[str, int]]:
    """DTrace options (the script's ``#!`` line and pragmas, then ``-x``) -> (environment, lowering).

    Refuses, with a UsageError naming it, an option whose meaning bpftrace cannot give.
    """
    env: dict[str, str] = {}
    lowering: dict[str, int] = {}
    merged = [(name, value, "#pragma D option") for name, value in script_options.items()]
    merged += [(name, value, "-x") for name, value in tracer_options.items()]
    for name, value, where in merged:
        if name in _OTHER_BACKENDS_OPTIONS or name.startswith(("I:", "D:")) or name in NO_EFFECT_OPTIONS:
            continue
        if name == "strsize":
            size = _positive_int(name, value, where)
            if size > MAX_STRLEN:
                raise UsageError(
                    f"{where} strsize={value}: bpftrace 0.17 keeps strings of at most {MAX_STRLEN} bytes"
                )
            env[TRACER_OPTION_ENV[name]] = str(size)
        elif name == "bufsize":
            env[TRACER_OPTION_ENV[name]] = str(ring_buffer_pages(str(value)))
        elif name == "map_keys_max":
            env[TRACER_OPTION_ENV[name]] = str(_positive_int(name, value, where))
        elif name in LOWERING_OPTIONS:
            lowering[LOWERING_OPTIONS[name]] = _positive_int(name, value, where)
        elif name == "bufpolicy" and value == "switch":
            continue  # bpftrace's perf buffers are read continuously, as with DTrace's switch
        elif name in DTRACE_TUNING_OPTIONS and where != "-x":
            continue
        elif name in DTRACE_TUNING_OPTIONS or name == "bufpolicy":
            raise UsageError(
                f"-x {name}: DTrace's {name} has no bpftrace counterpart (bpftrace takes strsize, "
                "bufsize, stackframes, ustackframes and map_keys_max)"
            )
        else:
            raise UsageError(
                f"{where} {name}: an option the bpftrace backend cannot honour (it takes strsize, "
                "bufsize, stackframes, ustackframes, map_keys_max, quiet and defaultargs)"
            )
    return env, lowering


# --------------------------------------------------------------------------- the run


@dataclass
class BpftracePrepared(PreparedRun):
    env: dict[str, str] = field(default_factory=dict)  # from the script's options and -x
    # The program's $1.. are literals already (a lowered D program: DTrace substitutes them
    # when it compiles); hand-written bpftrace text reads them as positional parameters.
    substituted: bool = False


def prepare_text(text: str, maps: dict[str, MapInfo], name: str = "program") -> BpftracePrepared:
    """A prepared run of bpftrace text (written by hand, or by the lowering) and its maps."""
    program = Lowered(
        target="bpftrace", text=text, aggregations=aggregations_of_maps(maps),
        framing=BpftraceFraming(maps=dict(maps)),
    )
    return BpftracePrepared(program=program, name=name)


STDERR_KEPT = 200  # the tracer's last words, for the message when it dies


class BpftraceReader:
    """bpftrace's standard output and error, read into snapshots (an OutputReader)."""

    def __init__(
        self,
        framing: BpftraceFraming,
        aggregations: dict[str, AggInfo],
        *,
        interval: float | None,
        on_output: Callable[[str], None] | None,
        map_keys_max: int | None,
    ) -> None:
        self.assembler = SnapshotAssembler(framing, aggregations, interval, on_output)
        self.assembler.map_keys_max = map_keys_max
        self.stack_lookup_failures = 0
        self.errors: list[str] = []  # stderr messages since the last snapshot
        self.last_words: collections.deque[str] = collections.deque(maxlen=STDERR_KEPT)

    @property
    def started(self) -> bool:
        return self.assembler.attached_probes is not None

    def stdout(self, line: str) -> list[Snapshot]:
        snap = self.assembler.feed(line)
        if snap is None:
            return []
        self._take_stderr(snap)
        return [snap]

    def stderr(self, line: str) -> None:
        if not line.strip() or any(h in line for h in HARMLESS_STDERR):
            return
        if STACK_LOOKUP.search(line):
            self.stack_lookup_failures += 1
            return
        self.last_words.append(line)
        self.errors.append(line)

    def _take_stderr(self, snap: Snapshot) -> None:
        if self.stack_lookup_failures:
            snap.drops["stack_lookup"] = snap.drops.get("stack_lookup", 0) + self.stack_lookup_failures
        snap.errors.extend(self.errors)
        self.stack_lookup_failures, self.errors = 0, []

    def finish(self, returncode: int, stopped_by_us: bool, delivered: int) -> list[Snapshot]:
        assembler = self.assembler
        ok = returncode == 0 or (stopped_by_us and returncode == -signal.SIGINT)
        if ok:
            final = assembler.snapshot(final=True, tracer_state="exited")
            self._take_stderr(final)
            return [final]
        text = "\n".join(self.last_words)
        if "only supports running as the root user" in text or "Operation not permitted" in text:
            raise TracerPermissionError(ROOT_ADVICE + (f"\nbpftrace said: {text}" if text else ""))
        if assembler.attached_probes is None:
            raise TracerError(
                "bpftrace rejected the program"
                + (f":\n{text}" if text else f" (exit status {returncode})")
                + "\n(see it with `dtscope compile --target bpftrace SCRIPT`)"
            )
        final = assembler.snapshot(final=True, tracer_state="failed")
        self._take_stderr(final)
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with status {returncode}"
        raise TracerError(
            f"bpftrace {how} before the run ended, after {delivered + 1} snapshot(s)"
            + (f":\n{text}" if text else ""),
            snapshots=[final],
        )


def _has_root_privileges() -> bool:
    return os.geteuid() == 0


class BpftraceBackend(Backend):
    name = "bpftrace"
    # After the stop signal bpftrace runs END and prints every map; it is waited for while
    # it prints. Resolving user stacks is silent and slow (bpftrace reads the symbols of
    # every process in the map before printing it: 22-36 s for 3 s of host-wide ustack
    # sampling), so programs with ustack get far longer. bpftrace only notices a signal
    # when its event loop wakes up, and now and then a SIGINT goes unnoticed (seen with
    # 0.17 at start-up and in steady state alike): it is repeated every second.
    STOP_GRACE_SECONDS = 10.0
    USTACK_STOP_GRACE_SECONDS = 300.0
    RESIGNAL_SECONDS = 1.0

    @classmethod
    def find_binary(cls, path: str | None = None) -> str:
        if path:
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
            found = shutil.which(path)
            if found:
                return found
            raise TracerNotFound(f"--bpftrace {path}: no such executable. {INSTALL_ADVICE}")
        found = shutil.which("bpftrace")
        if not found:
            raise TracerNotFound(INSTALL_ADVICE)
        return found

    def prepare(self, script: LoadedScript, options: RunOptions) -> BpftracePrepared:
        # Before lowering: without root the tracepoint formats are unreadable, and the
        # user would be told about missing tracepoints instead of missing privileges.
        binary = self.find_binary(options.tracer_path)
        if not _has_root_privileges():
            raise TracerPermissionError(ROOT_ADVICE)
        program = script.program
        if program is None:
            raise UsageError(f"{script.display_name}: a saved run has no program to run")
        target_path = None
        if options.target_command:
            words = command_words(options.target_command)
            target_path = elf_on_path(words[0])
        env, settings = resolve_options(program.options(), options.tracer_options)
        lowered = TARGETS["bpftrace"].lower(
            program,
            LinuxHost(bpftrace=binary),
            interval=options.interval,
            target_pid=options.target_pid,
            target_path=target_path,
            macro_args=list(options.macro_args),
            **settings,
        )
        if "cpid" in lowered.features and not options.target_command:
            raise UsageError("the script uses $target: name the process with -c CMD or -p PID")
        return BpftracePrepared(program=lowered, name=script.name, env=env, substituted=True)

    def command(self, binary: str, program_path: str, options: RunOptions, prepared: BpftracePrepared) -> list[str]:
        cmd = [binary, "-f", "json"]
        if options.destructive:
            cmd.append("--unsafe")
        if options.target_command:
            cmd += ["-c", _absolute_command(options.target_command)]
        if options.target_pid is not None:
            cmd += ["-p", str(options.target_pid)]
        positional = [] if prepared.substituted else list(options.macro_args)
        return cmd + [program_path, *positional]

    def environment(self, options: RunOptions, prepared: BpftracePrepared) -> dict[str, str]:
        """The tracer's environment: the options resolved from the script and -x win over ours.

        A program prepared from bpftrace text (prepare_text) has only -x."""
        env = dict(os.environ)
        env.setdefault("BPFTRACE_MAP_KEYS_MAX", str(DEFAULT_MAP_KEYS_MAX))
        env.update(prepared.env if prepared.substituted else resolve_options({}, options.tracer_options)[0])
        return env

    def start(self, prepared: PreparedRun, options: RunOptions) -> TracerRun:
        if not isinstance(prepared, BpftracePrepared):
            raise TypeError("the bpftrace backend runs what it prepared (or prepare_text)")
        binary = self.find_binary(options.tracer_path)
        if not _has_root_privileges():
            raise TracerPermissionError(ROOT_ADVICE)
        framing = prepared.program.framing
        assert isinstance(framing, BpftraceFraming)
        env = self.environment(options, prepared)
        keys_max = env.get("BPFTRACE_MAP_KEYS_MAX", "")
        reader = BpftraceReader(
            framing,
            prepared.aggregations,
            interval=options.interval,
            on_output=options.on_output,
            map_keys_max=int(keys_max) if keys_max.isdigit() else None,
        )

        ustack = "ustack" in prepared.program.text
        policy = StopPolicy(
            grace=self.USTACK_STOP_GRACE_SECONDS if ustack else self.STOP_GRACE_SECONDS,
            resignal=self.RESIGNAL_SECONDS,
            # On a loaded host markers arrive late, and a missed one is a lost interval.
            interval_grace=lambda interval: max(2 * interval, 1.0),
        )
        return TracerRun(
            command=lambda path: self.command(binary, path, options, prepared),
            program=prepared, suffix="bt", label="<generated bpftrace>", reader=reader, options=options,
            policy=policy, env=env, install_advice=INSTALL_ADVICE,
        )


def _absolute_command(command: str) -> str:
    """``-c`` with its program as an absolute path.

    bpftrace 0.17 refuses a bare name that PATH resolves to two files ("must refer to a
    unique binary"), which /bin -> /usr/bin hosts do for every program, and runs ELF
    files only (a script on PATH, such as a pyenv shim, is passed over as bpftrace would).
    """
    stripped = command.lstrip()
    try:
        first = shlex.split(stripped)[0]
    except (ValueError, IndexError):
        return command
    found = elf_on_path(first) if "/" not in first else None
    if found and stripped.startswith(first):
        return found + stripped[len(first):]
    return command


def elf_on_path(name: str) -> str | None:
    """The first ELF executable called ``name`` on PATH: what bpftrace -c can run (absolute)."""
    if "/" in name:
        return os.path.abspath(name) if _is_elf(name) else None
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and _is_elf(candidate):
            return os.path.abspath(candidate)
    return None


def _is_elf(path: str) -> bool:
    """bpftrace -c runs ELF executables only (it skips scripts such as pyenv's shims)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False

