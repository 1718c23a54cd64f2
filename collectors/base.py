"""The interface every tracer backend implements (one file per backend).

A backend finds its binary, prepares a checked script for its tracer (lowering it through
the target table of :mod:`dtscope.dscript.targets`) and starts a run that yields
:class:`~dtscope.collectors.model.Snapshot` objects as data arrives. The run itself
(starting the tracer, reading its output, stopping it, surviving its death) is written once,
in :mod:`.runner`; a tracer backend supplies its command line and a reader of its output
(:class:`OutputReader`: text in, snapshots out, no processes).
"""

from __future__ import annotations

import abc
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from dtscope.dscript.lowered import Lowered
from dtscope.dscript.script import LoadedScript

from dtscope.errors import UsageError, UserError

from .model import Snapshot


@dataclass
class RunOptions:
    duration: float | None = None  # seconds; None = until the program exits or is interrupted
    interval: float | None = None  # seconds between snapshots; None = one snapshot at the end
    target_command: str | None = None  # -c CMD: $target is its pid
    target_pid: int | None = None  # -p PID: $target
    macro_args: list[str] = field(default_factory=list)  # $1.. $9
    destructive: bool = False  # allow system(), raise()...: dtrace -w
    tracer_path: str | None = None  # --dtrace PATH / --bpftrace PATH
    tracer_options: dict[str, str] = field(default_factory=dict)  # bufsize, aggsize, strsize...
    # Where printf()/trace() output goes, a line at a time. None: sys.stdout.
    on_output: Callable[[str], None] | None = None


@dataclass
class PreparedRun:
    """What a backend will run: the lowered program and how to start its tracer."""

    program: Lowered
    name: str = "program"  # names the tracer's program file, so that it is findable in ps

    @property
    def aggregations(self):
        return self.program.aggregations


class TracerNotFound(UserError):
    """The tracer binary is missing; the message says how to install it."""


class TracerPermissionError(UserError):
    """The tracer needs privileges we do not have; the message says which."""


class TracerError(UserError):
    """The tracer failed or died. ``snapshots`` holds what was collected before."""

    def __init__(self, message: str, snapshots: list[Snapshot] | None = None, exit_code: int = 1):
        super().__init__(message, exit_code)
        self.snapshots = snapshots or []


def command_words(command: str) -> list[str]:
    """The words of a ``-c`` command, which runs directly (no shell): it must split into
    words, and its program must be found. Raises UsageError saying what is wrong."""
    try:
        words = shlex.split(command)
    except ValueError as err:
        raise UsageError(f"-c {command!r}: {err}") from None
    if not words:
        raise UsageError("-c needs a command")
    if shutil.which(words[0]) is None:
        raise UsageError(f"-c: {words[0]}: command not found")
    return words


class Run(Protocol):
    """A started run: its snapshots, in order, and a way to end it early."""

    def __iter__(self) -> Iterator[Snapshot]: ...

    def request_stop(self) -> None:
        """End the run early (safe from a signal handler or another thread): the tracer
        still prints what it collected, and the snapshots end with a final one."""


class OutputReader(Protocol):
    """A tracer's output, turned into snapshots: pure, fed a line at a time by the runner."""

    started: bool  # tracing has begun (the duration counts from here)

    def stdout(self, line: str) -> list[Snapshot]:
        """Read one line of standard output; the snapshots it completes."""

    def stderr(self, line: str) -> None:
        """Read one line of standard error (drops, errors: kept for the next snapshot)."""

    def finish(self, returncode: int, stopped_by_us: bool, delivered: int) -> list[Snapshot]:
        """The tracer exited: the last snapshots, or raise TracerError (whose ``snapshots``
        are this reader's last ones; the runner adds what it delivered before)."""


class Backend(abc.ABC):
    name: ClassVar[str] = ""

    @classmethod
    @abc.abstractmethod
    def find_binary(cls, path: str | None = None) -> str:
        """Path of the tracer binary, or raise TracerNotFound with install advice."""

    @abc.abstractmethod
    def prepare(self, script: LoadedScript, options: RunOptions) -> PreparedRun:
        """Lower a loaded, checked script for this tracer (with the snapshot machinery)."""

    @abc.abstractmethod
    def start(self, prepared: PreparedRun, options: RunOptions) -> Run:
        """Start the run. Iterating it runs the tracer and yields snapshots; the last has
        ``final=True``. Iterating raises TracerError (with the snapshots collected so far)
        when the tracer fails, TracerPermissionError when it lacks privileges."""

    def stream(self, prepared: PreparedRun, options: RunOptions) -> Iterator[Snapshot]:
        """The snapshots of a run, for callers that never stop it early."""
        return iter(self.start(prepared, options))
