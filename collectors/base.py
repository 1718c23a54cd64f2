"""The interface every tracer backend implements (one file per backend).

A backend finds its binary, turns a checked D program into what its tracer runs
(adding the interval machinery), starts the tracer as a child process and yields
:class:`~dtscope.collectors.model.Snapshot` objects as data arrives.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dtscope.errors import UsageError, UserError

from .model import AggInfo, Snapshot


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
class PreparedProgram:
    """What the tracer will run: its program text and how to read its output back."""

    text: str
    aggregations: dict[str, AggInfo]  # by D aggregation name ("" = anonymous)
    extra: dict = field(default_factory=dict)  # backend-private metadata


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
    import shlex
    import shutil

    try:
        words = shlex.split(command)
    except ValueError as err:
        raise UsageError(f"-c {command!r}: {err}") from None
    if not words:
        raise UsageError("-c needs a command")
    if shutil.which(words[0]) is None:
        raise UsageError(f"-c: {words[0]}: command not found")
    return words


def deliver(run, proc, snap: Snapshot, expected: int | None) -> Iterator[Snapshot]:
    """Hand a snapshot to the consumer, the same way for every backend (``yield from``).

    ``run`` keeps ``collected`` (what a TracerError reports), ``snapshot_count`` and
    ``_stop(proc)``. A consumer interrupted while busy with the snapshot throws
    KeyboardInterrupt in here: the tracer is told to stop and its output is still read.
    After ``expected`` snapshots (one per interval) the tracer is told to stop.
    """
    run.collected.append(snap)
    run.snapshot_count += 1
    try:
        yield snap
    except KeyboardInterrupt:
        run._stop(proc)
    if expected is not None and run.snapshot_count >= expected:
        run._stop(proc)


class Backend(abc.ABC):
    name: str = ""

    @classmethod
    @abc.abstractmethod
    def find_binary(cls, path: str | None = None) -> str:
        """Path of the tracer binary, or raise TracerNotFound with install advice."""

    @abc.abstractmethod
    def prepare(self, program, options: RunOptions) -> PreparedProgram:
        """Lower a checked ``dscript.ast.Program`` for this tracer (adds interval printing)."""

    @abc.abstractmethod
    def stream(self, prepared: PreparedProgram, options: RunOptions) -> Iterator[Snapshot]:
        """Run the tracer, yield snapshots; the last has ``final=True``.

        Raises TracerError (with the snapshots collected so far) when the tracer
        fails, TracerPermissionError when it lacks privileges.
        """
