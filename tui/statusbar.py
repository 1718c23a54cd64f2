"""The status line: backend, script, interval, drops, errors, tracer state, view settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from .source import SourceInfo
from .state import TopState


@dataclass
class ViewSettings:
    paused: bool = False
    text_filter: str = ""
    group: str = ""  # names of the grouping columns, "" = all keys
    zone: str | None = None
    shown: int = 0
    total: int = 0
    speed: float | None = None  # replay speed
    failure: str | None = None  # the tracer's last words when it died
    ended: bool = False


class StatusBar(Vertical):
    """One status line, plus a red line above it with a dead tracer's last words."""

    DEFAULT_CSS = """
    StatusBar {
        height: auto;
        background: $panel;
        color: $text;
    }
    StatusBar > Static {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusBar > #failure {
        display: none;
        background: $error;
        color: $text;
        text-style: bold;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="failure")
        yield Static(id="status-line")

    def show(self, info: SourceInfo, state: TopState, view: ViewSettings) -> None:
        # Most important first; never wrapped (a wrapped line would change the layout
        # with every message).
        text = Text(no_wrap=True, overflow="ellipsis")
        failure = view.failure
        if failure is None and state.tracer_state == "failed":
            failure = state.recent_errors[-1] if state.recent_errors else "the tracer died"
        if failure:
            first_line = failure.strip().splitlines()[0] if failure.strip() else "the tracer died"
            failure_line = self.query_one("#failure", Static)
            failure_line.update(Text(f"tracer FAILED: {first_line}", no_wrap=True, overflow="ellipsis"))
            failure_line.display = True
            text.append("tracer FAILED", style="bold white on red")
        elif view.paused:
            text.append("PAUSED", style="bold black on yellow")
        elif view.ended:
            ended = "replay done" if info.backend == "replay" else f"tracer {state.tracer_state if state.tracer_state != 'running' else 'exited'}"
            text.append(ended, style="bold yellow")
        else:
            text.append(f"tracer {state.tracer_state}", style="bold green" if state.tracer_state == "running" else "bold yellow")
        text.append(f" │ {view.shown}/{view.total}")
        if view.group:
            text.append(f" by {view.group}", style="bold")
        if view.zone is not None:
            text.append(f" zone={view.zone}", style="bold")
        if view.text_filter:
            text.append(f" /{view.text_filter}", style="bold")
        interval = f"{info.interval:g}s" if info.interval else "-"
        text.append(" │ ")
        text.append(f"{info.backend}", style="bold")
        script = os.path.basename(info.script) if os.path.sep in info.script else info.script
        text.append(f" {script} {interval}")
        if view.speed is not None:
            text.append(f" x{view.speed:g}" if view.speed > 0 else " max speed")
        drops = sum(state.drops.values())
        text.append(" │ drops ")
        text.append(str(drops), style="bold red" if drops else "")
        text.append(" err ")
        text.append(str(state.errors), style="bold red" if state.errors else "")
        if not failure:
            self.query_one("#failure", Static).display = False
        self.query_one("#status-line", Static).update(text)
