"""One run of a tracer: start it, read its output, stop it, survive its death.

Written once for every tracer backend. A backend gives the command line, the environment,
its stop policy (:class:`StopPolicy`) and an :class:`~.base.OutputReader` that turns lines
into snapshots; :class:`TracerRun` does the rest:

* the program goes to a file in a private temporary directory (named after the script, so
  that ``ps`` shows what runs), removed when the run ends; messages name it by a label;
* the tracer runs in its own session (the terminal's Ctrl-C reaches only dtscope, which
  stops the tracer so that it still prints what it collected) and gets SIGTERM if dtscope
  dies (``PR_SET_PDEATHSIG``), so that no tracer is left running;
* standard output and standard error are read on two threads into one queue, so the
  reader sees every line in the order it came, on the consumer's thread;
* ``--duration`` counts from the moment tracing began (the reader says when); with an
  interval, the expected number of snapshots ends the run and the clock is the backstop;
* the tracer is stopped with SIGINT (its END clause runs and it prints its aggregations),
  repeated where the tracer can miss one, and killed when it stays silent past its grace;
* a consumer interrupted while busy with a snapshot (KeyboardInterrupt) stops the tracer,
  whose remaining output is still read;
* when the tracer fails, the TracerError carries the latest snapshots collected.
"""

from __future__ import annotations

import collections
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .base import OutputReader, PreparedRun, RunOptions, TracerError, TracerNotFound
from .model import Snapshot

# Snapshots a TracerError keeps (the latest; the consumer had the others already): a run
# that streams for days must not hold every one.
KEPT_ON_ERROR = 16
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class StopPolicy:
    """How a tracer is stopped and how long it is waited for."""

    # After the stop signal the tracer runs END and prints; it is killed when it has been
    # silent for this long since the signal or its latest output line.
    grace: float = 10.0
    # Repeat SIGINT this often while waiting (bpftrace can miss one); None: never (a
    # second SIGINT makes dtrace exit without printing).
    resignal: float | None = None
    # With no sign that tracing began, give up waiting for it after this long (None: wait).
    startup_allowance: float | None = None
    # How long past its duration a run with an interval waits for the last snapshot,
    # as a function of the interval.
    interval_grace: Callable[[float], float] = lambda interval: 0.0


def expected_snapshots(options: RunOptions) -> int | None:
    """With a duration and an interval, how many snapshots end the run."""
    if options.duration and options.interval:
        return max(1, round(options.duration / options.interval))
    return None


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(name)) or "program"


def _parent_death_signal():
    """A preexec function: SIGTERM the tracer when dtscope dies, so no tracer is left running.

    The libc function is looked up here, in the parent: the child between fork and exec
    only makes the one call (no imports, no allocation that could meet a held lock).
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the tracer still stops when its output pipe closes
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm, 0, 0, 0)


class TracerRun:
    """One child tracer process. Iterate it for the snapshots; ``request_stop()`` ends it early."""

    def __init__(
        self,
        *,
        command: Callable[[str], list[str]],
        program: PreparedRun,
        suffix: str,
        label: str,
        reader: OutputReader,
        options: RunOptions,
        policy: StopPolicy,
        env: dict[str, str] | None = None,
        install_advice: str = "",
    ) -> None:
        self.command = command  # program path -> argv
        self.prepared = program
        self.suffix = suffix
        self.label = label  # what messages call the program file (its path is temporary)
        self.path = ""
        self.reader = reader
        self.options = options
        self.policy = policy
        self.env = env
        self.install_advice = install_advice
        self.process: subprocess.Popen | None = None  # the running tracer (tests signal it)
        self.cmd: list[str] = []
        self.stop_requested = threading.Event()
        self.collected: collections.deque[Snapshot] = collections.deque(maxlen=KEPT_ON_ERROR)
        self.delivered = 0
        self.stop_sent_at: float | None = None
        self.last_signal_at = 0.0
        self.last_output_at = 0.0
        self.lines: queue.Queue = queue.Queue()

    def request_stop(self) -> None:
        """End the run early (safe from a signal handler): the tracer prints what it has."""
        self.stop_requested.set()

    def __iter__(self) -> Iterator[Snapshot]:
        name = safe_name(self.prepared.name)
        with tempfile.TemporaryDirectory(prefix="dtscope-") as workdir:
            self.path = os.path.join(workdir, f"{name}.{self.suffix}")
            with open(self.path, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(self.prepared.program.text)
            self.cmd = self.command(self.path)
            yield from self._run()

    # -- the child

    def _read(self, stream, source: str) -> None:
        for line in stream:
            self.lines.put((source, line.rstrip("\n")))
        self.lines.put((source, None))

    def _signal(self, signum: int) -> None:
        try:
            if self.process is not None:
                self.process.send_signal(signum)
        except ProcessLookupError:
            pass

    def _stop(self) -> None:
        if self.stop_sent_at is None and self.process is not None and self.process.poll() is None:
            self.stop_sent_at = self.last_signal_at = time.monotonic()
            self._signal(signal.SIGINT)  # the tracer runs END and prints what it has

    def _wait_for_exit(self, now: float) -> None:
        """While stopping: repeat the signal where the policy says, kill a silent tracer."""
        proc = self.process
        if self.stop_sent_at is None or proc is None or proc.poll() is not None:
            return
        if now - max(self.stop_sent_at, self.last_output_at) > self.policy.grace:
            proc.kill()
        elif self.policy.resignal is not None and now - self.last_signal_at >= self.policy.resignal:
            self.last_signal_at = now
            self._signal(signal.SIGINT)

    def _deliver(self, snap: Snapshot, expected: int | None) -> Iterator[Snapshot]:
        self.collected.append(snap)
        self.delivered += 1
        try:
            yield snap
        except KeyboardInterrupt:
            self._stop()  # the consumer was interrupted: stop, and read what is left
        if expected is not None and self.delivered >= expected:
            self._stop()

    def _run(self) -> Iterator[Snapshot]:
        options, reader, policy = self.options, self.reader, self.policy
        try:
            proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                bufsize=1,
                env=self.env,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),  # noqa: PLW1509 - one prctl() call, prepared above
            )
        except OSError as err:
            raise TracerNotFound(f"cannot run {self.cmd[0]}: {err}. {self.install_advice}") from None
        self.process = proc
        readers = [
            threading.Thread(target=self._read, args=(proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, "err"), daemon=True),
        ]
        for thread in readers:
            thread.start()
        launched = time.monotonic()
        began: float | None = None
        expected = expected_snapshots(options)
        grace = policy.interval_grace(options.interval) if expected is not None else 0.0
        open_streams = 2
        try:
            while open_streams:
                try:
                    source, line = self.lines.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    source, line = "", ""
                except KeyboardInterrupt:
                    self._stop()
                    continue
                now = time.monotonic()
                if line is None:
                    open_streams -= 1
                elif source == "out":
                    self.last_output_at = now
                    for snap in reader.stdout(line):
                        yield from self._deliver(snap, expected)
                elif source == "err":
                    reader.stderr(line.replace(self.path, self.label))
                if began is None and reader.started:
                    began = now
                if options.duration:
                    start = began
                    if start is None and policy.startup_allowance is not None:
                        start = launched + policy.startup_allowance
                    if start is not None and now >= start + options.duration + grace:
                        self._stop()
                if self.stop_requested.is_set():
                    self._stop()
                self._wait_for_exit(now)
            for thread in readers:
                thread.join(timeout=5)
            returncode = proc.wait()
        finally:
            if proc.poll() is None:  # the consumer stopped early, or we are failing
                self._stop()
                # Nobody reads what it prints now: no reason to wait long.
                deadline = time.monotonic() + policy.grace
                while proc.poll() is None and time.monotonic() < deadline:
                    try:
                        proc.wait(timeout=policy.resignal or policy.grace)
                    except subprocess.TimeoutExpired:
                        if policy.resignal is not None:
                            self._signal(signal.SIGINT)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        stopped_by_us = self.stop_sent_at is not None
        try:
            last = reader.finish(returncode, stopped_by_us, self.delivered)
        except TracerError as err:
            kept = collections.deque(self.collected, maxlen=KEPT_ON_ERROR)
            kept.extend(err.snapshots)
            err.snapshots = list(kept)
            raise
        for snap in last:
            self.collected.append(snap)
            self.delivered += 1
            yield snap
