"""Run a loaded script on a backend and get its snapshot stream: the one entry point.

``run_stream(script, backend, options)`` is what `dtscope run`, `top`, `export` and
`flame` call. It picks the backend ("auto": replay for a saved run, bpftrace on Linux,
dtrace where dtrace is the tracer), refuses destructive actions unless allowed,
prepares the program and yields snapshots that carry the script's units.
"""

from __future__ import annotations

import gc
import platform
import shutil
from collections.abc import Generator

from dtscope.dscript.script import LoadedScript

from dtscope.errors import UsageError

from .base import Backend, Run, RunOptions
from .bpftrace import BpftraceBackend
from .dtrace import DTraceBackend
from .model import Snapshot
from .replay import ReplayBackend

# Backend name -> its class: the one table `--backend` chooses from ("auto" picks one).
# The tracers are those that run the targets of dtscope.dscript.targets; replay runs none.
BACKEND_CLASSES: dict[str, type[Backend]] = {
    "bpftrace": BpftraceBackend,
    "dtrace": DTraceBackend,
    "replay": ReplayBackend,
}
BACKENDS = ("auto", *BACKEND_CLASSES)


def backend_for(name: str) -> Backend:
    """The Backend instance for a backend name (not "auto": see :func:`choose_backend`)."""
    cls = BACKEND_CLASSES.get(name)
    if cls is None:
        raise UsageError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    return cls()


def choose_backend(script: LoadedScript, requested: str = "auto", *, system: str | None = None,
                   which=shutil.which) -> str:
    """Resolve "auto": replay for a saved run; dtrace where it is the tracer; else bpftrace."""
    if requested not in BACKENDS:
        raise UsageError(f"unknown backend {requested!r} (choose from {', '.join(BACKENDS)})")
    kind = script.kind
    if kind == "replay" and requested not in ("auto", "replay"):
        raise UsageError(f"{script.path}: a saved run can only be replayed (--backend replay)")
    if requested == "replay" and kind != "replay":
        raise UsageError("--backend replay needs a saved run (.jsonl) as the script")
    if requested != "auto":
        return requested
    if kind == "replay":
        return "replay"
    system = system or platform.system()
    if system == "Linux":
        # Oracle's dtrace for Linux counts only when bpftrace is absent.
        if which("bpftrace") is None and which("dtrace") is not None:
            return "dtrace"
        return "bpftrace"
    return "dtrace"  # illumos (SunOS), FreeBSD, macOS


def run_stream(script: LoadedScript, backend: str = "auto", options: RunOptions | None = None) -> SnapshotStream:
    """Snapshots of ``script`` as the run produces them.

    Choosing and preparing fail at the call (UsageError, DiagnosticError from the
    lowering); the tracer's failures surface while iterating (TracerNotFound,
    TracerPermissionError, TracerError with the snapshots kept).
    """
    options = options or RunOptions()
    name = choose_backend(script, backend)
    if script.destructive and not options.destructive and name != "replay":
        raise UsageError(
            f"{script.display_name}: uses destructive action(s) {', '.join(script.destructive)}: "
            "rerun with --destructive to allow them"
        )
    chosen = backend_for(name)
    prepared = chosen.prepare(script, options)
    for aggregation, unit in script.units.items():
        info = prepared.aggregations.get(aggregation)
        if info is not None and not info.unit:
            info.unit = unit
    return SnapshotStream(chosen.start(prepared, options))


class SnapshotStream:
    """The snapshots of one run (an iterator), plus ``stop()`` to end the run early.

    ``stop()`` is safe to call from a signal handler or another thread: the backend
    stops its tracer, which still prints what it collected, and the stream ends with
    a final snapshot as if the duration had run out.
    """

    def __init__(self, run: Run):
        self.run = run
        self._snapshots = iter(run)

    def __iter__(self) -> SnapshotStream:
        return self

    def __next__(self) -> Snapshot:
        return next(self._snapshots)

    def stop(self) -> None:
        """Ask the run to end: the tracer prints what it has, and the stream ends."""
        self.run.request_stop()

    def close(self) -> None:
        if isinstance(self._snapshots, Generator):
            self._snapshots.close()


def tune_gc_for_streaming() -> None:
    """Make the garbage collector cheap for a long run of large snapshots.

    Every snapshot allocates tens of thousands of short-lived rows, which would trigger
    a young-generation collection every 700 allocations, and each older collection would
    walk the parsed-key caches. The rows hold no cycles, so collections find nothing:
    collect rarely, and move what exists at startup out of the collector's sight.
    Call it from a command's main path (it changes the whole process), not from a library.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
