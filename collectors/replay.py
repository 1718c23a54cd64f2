"""Replay a saved JSONL run as a snapshot stream, with its original timing or faster.

The TUI, the exporter and the reports read a replay like a live run, so they can be
used post mortem and tested without privileges. ``options.tracer_options["speed"]``
(``--speed``) scales time: 2 plays twice as fast, 0 (or "max") as fast as possible.
``options.duration`` stops the replay after that much recorded time.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dtscope.dscript.lowered import Lowered
from dtscope.dscript.script import LoadedScript

from dtscope.errors import UsageError, UserError

from .base import Backend, PreparedRun, RunOptions
from .model import AggInfo, Snapshot, read_jsonl


def parse_speed(value: Any) -> float:
    """``1`` (original timing), ``2.5`` (faster), ``0``/``max`` (no waiting)."""
    if value is None:
        return 1.0
    text = str(value).strip().lower()
    if text.endswith("x") and text[:-1].replace(".", "", 1).isdigit():
        text = text[:-1]  # "2x"
    if text in ("max", "inf", "0"):
        return 0.0
    try:
        speed = float(text)
    except ValueError:
        raise UsageError(f"--speed {value!r}: expected a positive number such as 2, 0.5 or max") from None
    if speed < 0 or math.isnan(speed):
        raise UsageError(f"--speed {value!r}: expected a positive number such as 2, 0.5 or max")
    return speed


def _with_last_marked(snapshots: Iterator[Snapshot]) -> Iterator[Snapshot]:
    previous = None
    for snap in snapshots:
        if previous is not None:
            yield previous
        previous = snap
    if previous is not None:
        previous.final = True
        yield previous


def _fill_aggregations(snap: Snapshot) -> None:
    for row in snap.rows:
        if row.aggregation not in snap.aggregations:
            snap.aggregations[row.aggregation] = AggInfo(row.aggregation, row.function)


@dataclass
class ReplayPrepared(PreparedRun):
    path: str = ""


class ReplayBackend(Backend):
    name = "replay"

    def __init__(self, sleep: Callable[[float], None] | None = None):
        self.sleep = sleep  # tests pass a fake clock; None: wait on the run's stop event

    @classmethod
    def find_binary(cls, path: str | None = None) -> str:
        return ""  # no tracer needed

    def prepare(self, script: LoadedScript | str, options: RunOptions) -> ReplayPrepared:
        path = script if isinstance(script, str) else script.path
        if not path:
            raise UsageError("replay needs a saved run (.jsonl file)")
        return ReplayPrepared(program=Lowered(target="replay", text=""), name=_stem(path), path=path)

    def start(self, prepared: PreparedRun, options: RunOptions) -> ReplayRun:
        if not isinstance(prepared, ReplayPrepared):
            raise TypeError("the replay backend runs what it prepared")
        return ReplayRun(prepared.path, options, self.sleep)


class ReplayRun:
    """The snapshots of a saved run, at their recorded pace (scaled by ``--speed``)."""

    def __init__(self, path: str, options: RunOptions, sleep: Callable[[float], None] | None):
        self.path = path
        self.options = options
        self.stop_requested = threading.Event()
        # Waiting on the event lets request_stop() cut a long wait short.
        self.sleep = sleep or self.stop_requested.wait

    def request_stop(self) -> None:
        self.stop_requested.set()

    def __iter__(self) -> Iterator[Snapshot]:
        path, options = self.path, self.options
        speed = parse_speed(options.tracer_options.get("speed"))
        try:
            fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
        except OSError as err:
            raise UserError(f"{path}: cannot read: {err.strerror}") from None
        with fh:
            first_time = None
            started = time.monotonic()
            try:
                for snap in _with_last_marked(read_jsonl(fh)):
                    if first_time is None:
                        first_time = snap.time
                    offset = (snap.time - first_time).total_seconds()
                    if options.duration is not None and offset > options.duration:
                        break
                    if speed > 0:
                        wait = offset / speed - (time.monotonic() - started)
                        if wait > 0:
                            self.sleep(wait)
                    if self.stop_requested.is_set():
                        return
                    _fill_aggregations(snap)
                    try:
                        yield snap
                    except KeyboardInterrupt:
                        return  # an interrupted consumer: a replay simply ends there
            except ValueError as err:
                raise UserError(f"{path}: {err}") from None


def _stem(path: str) -> str:
    base = os.path.basename(path)
    return base.rsplit(".", 1)[0] if "." in base else base
