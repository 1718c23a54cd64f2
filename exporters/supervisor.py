"""One tracer per script, each in its own thread, restarted with backoff when it dies.

The supervisor pulls snapshots from a *source*: a function that starts the tracer and
returns its snapshot iterator (``dtscope.collectors.session.run_stream`` in real use,
anything that yields snapshots in tests). While the tracer is down, ``dtscope_up`` is 0
and the last values keep being served; counters are accumulated by
:class:`~dtscope.exporters.prometheus.ScriptMetrics`, so they never go backwards.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

from dtscope.collectors.model import Snapshot

from .prometheus import ScriptMetrics

SnapshotSource = Callable[[], Iterator[Snapshot]]


class Supervisor(threading.Thread):
    """Runs one script's tracer and feeds its snapshots into its :class:`ScriptMetrics`."""

    def __init__(
        self,
        metrics: ScriptMetrics,
        source: SnapshotSource,
        *,
        on_snapshot: Callable[[ScriptMetrics], None] | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 60.0,
        log: Callable[[str], None] | None = None,
        fatal: tuple[type[BaseException], ...] = (),
        restart: bool = True,
    ):
        super().__init__(name=f"dtscope-export-{metrics.script}", daemon=True)
        self.metrics = metrics
        self.source = source
        self.on_snapshot = on_snapshot
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        # A run that lasted this long was healthy: the next failure starts the backoff over.
        self.stable_after = stable_after
        self.log = log or _log_to_stderr
        # Errors that end supervision when they happen before any snapshot ever came
        # (no tracer binary, no privileges): retrying cannot help, the user must act.
        self.fatal_errors = fatal
        self.fatal: BaseException | None = None
        # False for a replayed run: when it ends, its values stay served and up stays 0.
        self.restart = restart
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        delay = self.backoff_initial
        error: str | None = None
        while not self.stopping:
            if error is not None:
                self.metrics.note_restart(error)  # counted as the restart happens
            started = time.monotonic()
            error = self._run_once()
            self.metrics.set_up(False)
            if self.stopping:
                break
            if not self.restart:
                self.log(f"script {self.metrics.script}: {error}; not restarting (a replay)")
                break
            if time.monotonic() - started >= self.stable_after:
                delay = self.backoff_initial
            self.log(
                f"script {self.metrics.script}: tracer stopped ({error}); restarting in {delay:g}s"
            )
            if self._stop_event.wait(delay):
                break
            delay = min(delay * 2, self.backoff_max)

    def _run_once(self) -> str:
        """Run the tracer until it ends; return why it ended."""
        stream = None
        try:
            stream = self.source()
            for snapshot in stream:
                self.metrics.apply(snapshot)
                self.metrics.set_up(snapshot.tracer_state == "running" and not snapshot.final)
                if self.on_snapshot is not None:
                    self.on_snapshot(self.metrics)
                if self.stopping:
                    return "stopped"
            return "tracer exited"
        except Exception as err:  # noqa: BLE001 - any failure of the tracer means a restart
            if isinstance(err, self.fatal_errors) and self.metrics.snapshots == 0:
                self.fatal = err
                self._stop_event.set()
            return f"{type(err).__name__}: {err}"
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as err:  # noqa: BLE001 - the tracer is gone either way
                    self.log(f"script {self.metrics.script}: while stopping the tracer: {err}")


def _log_to_stderr(message: str) -> None:
    print(f"dtscope export: {message}", file=sys.stderr, flush=True)


def end_child_tracers() -> list[int]:
    """Send SIGTERM to this process's children (the tracers) on shutdown; return their pids.

    A supervisor thread blocked in a tracer's output cannot be interrupted from
    outside, so on shutdown the tracers are ended directly; their streams then end,
    the backend reaps them, and the threads finish. Only direct children of this
    process are touched. Linux only (reads /proc); elsewhere the service manager
    (SMF contract, systemd cgroup) ends them.
    """
    me = os.getpid()
    children = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: fields follow the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit() and int(fields[1]) == me:
            children.append(int(entry))
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    return children
