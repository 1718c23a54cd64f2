"""Where snapshots come from: a live tracer, or a saved run replayed at some speed.

A source is opened by the app's worker thread and iterated there. ``stop`` and
``pause`` are thread-safe so the app can steer a replay (and stop a tracer) from its
own thread; a live tracer keeps running while paused (the app holds its snapshots).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from dtscope.collectors import session
from dtscope.collectors.base import RunOptions
from dtscope.collectors.model import Snapshot, read_jsonl
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.script import LoadedScript

from dtscope.errors import UserError


@dataclass
class SourceInfo:
    backend: str  # "bpftrace", "dtrace", "replay"
    script: str  # what runs: a probe name, a file name, "syscall latency (default)"
    interval: float | None


class SnapshotSource:
    """Base: yields snapshots until exhausted or stopped."""
    can_change_interval = False
    pauses_itself = False  # True when pausing the view should also pause the source

    def __init__(self, info: SourceInfo):
        self.info = info
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def reset(self) -> None:
        """Allow the source to be opened again (after a stop for an interval change)."""
        self._stop = threading.Event()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def pause(self, paused: bool) -> None:
        if paused:
            self._running.clear()
        else:
            self._running.set()

    def set_interval(self, seconds: float) -> None:
        self.info.interval = seconds

    def snapshots(self) -> Iterator[Snapshot]:  # pragma: no cover - abstract
        raise NotImplementedError


class ReplaySource(SnapshotSource):
    """A saved JSONL run, paced by the snapshots' own times divided by ``speed``.

    ``speed=0`` replays as fast as possible (tests). ``+``/``-`` change the speed.
    """

    pauses_itself = True

    def __init__(self, path: str, speed: float = 1.0):
        try:
            with open(path) as fh:
                first = fh.readline()
        except OSError as err:
            raise UserError(f"cannot read replay file {path}: {err.strerror}") from None
        if not first.strip():
            raise UserError(f"replay file {path} is empty")
        try:
            next(read_jsonl([first]))
        except ValueError as err:
            raise UserError(f"{path}: not a dtscope run: {err}") from None
        super().__init__(SourceInfo("replay", path, None))
        self.path = path
        self.speed = speed

    def set_interval(self, seconds: float) -> None:  # +/- act on the speed in a replay
        pass

    def snapshots(self) -> Iterator[Snapshot]:
        previous = None
        with open(self.path) as fh:
            try:
                for snap in read_jsonl(fh):
                    if self.stopped:
                        return
                    if self.info.interval is None and snap.interval:
                        self.info.interval = snap.interval
                    if previous is not None and self.speed > 0:
                        gap = (snap.time - previous.time).total_seconds() / self.speed
                        if gap > 0 and self._stop.wait(min(gap, 60.0)):
                            return
                    self._running.wait()
                    if self.stopped:
                        return
                    previous = snap
                    yield snap
            except ValueError as err:
                raise UserError(f"{self.path}: {err}") from None


class LiveSource(SnapshotSource):
    """A tracer run through ``dtscope.collectors.session.run_stream``.

    ``first_stream`` is a stream already started by the caller (so that a script the
    backend rejects fails before the screen opens); an interval change starts anew.
    """

    can_change_interval = True

    def __init__(self, script: LoadedScript, backend: str, options: RunOptions, description: str,
                 first_stream: session.SnapshotStream | None = None):
        super().__init__(SourceInfo(backend, description, options.interval))
        self.script = script
        self.backend = backend
        self.options = options
        self._first_stream = first_stream
        self._stream: session.SnapshotStream | None = None  # the run in progress

    def set_interval(self, seconds: float) -> None:
        self.info.interval = seconds
        self.options.interval = seconds

    def stop(self) -> None:
        super().stop()
        # The loop below notices a stop only when the next snapshot arrives (up to a
        # whole interval); asking the run to stop ends it now: the backend stops its own
        # tracer, which prints what it has.
        stream = self._stream
        if stream is not None:
            stream.stop()

    def snapshots(self) -> Iterator[Snapshot]:
        stream, self._first_stream = self._first_stream, None
        if stream is None:
            stream = start_stream(self.script, self.backend, self.options)
        self._stream = stream
        if self.stopped:
            stream.stop()  # stopped while the run was starting
        try:
            for snap in stream:
                yield snap
                if self.stopped:
                    return
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # the backend stops its tracer in its finally clause


def start_stream(script: LoadedScript, backend: str, options: RunOptions) -> session.SnapshotStream:
    """``session.run_stream`` with the front end's diagnostics turned into a UserError."""
    try:
        return session.run_stream(script, backend=backend, options=options)
    except DiagnosticError as err:
        raise UserError(err.format()) from None
