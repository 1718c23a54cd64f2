"""`dtscope top`: the Textual application (bindings, screens, and wiring only).

A thread worker iterates the snapshot source and only posts messages; everything
that touches the state or the widgets runs on the app's thread.
"""

from __future__ import annotations

import datetime as _dt
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Footer, Tab, Tabs

from dtscope.errors import UserError

from .aggtable import AggTable
from .detail import DetailPane
from .messages import RowSelected, SnapshotArrived, SortRequested, StreamEnded
from .recorder import RunRecorder
from .screens import ChoiceScreen, HelpScreen, PromptScreen
from .source import SnapshotSource
from .state import DEFAULT_HISTORY, TableView, TopState
from .statusbar import StatusBar, ViewSettings

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)


class TopApp(App[int]):
    CSS_PATH = "top.tcss"
    TITLE = "dtscope top"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("q", "quit", "Quit"),
        Binding("p", "pause", "Pause"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("g", "group", "Group"),
        Binding("z", "zone", "Zone"),
        Binding("plus,equals_sign", "interval(1)", "+Int"),
        Binding("minus", "interval(-1)", "-Int"),
        Binding("w", "write", "Write"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "clear", "Clear", show=False),
        Binding("right_square_bracket", "next_aggregation(1)", "Next agg", show=False),
        Binding("left_square_bracket", "next_aggregation(-1)", "Prev agg", show=False),
    ]

    def __init__(self, source: SnapshotSource, *, history: int = DEFAULT_HISTORY, record: bool = True):
        super().__init__()
        self.source = source
        self.state = TopState(history=history)
        self.recorder = RunRecorder() if record else None
        self.view = ViewSettings(speed=getattr(source, "speed", None))
        self.aggregation: str | None = None
        self.group_by: tuple[int, ...] | None = None
        self.sort_title: str | None = None
        self.sort_descending = True
        self._posted = 0  # written by the worker only
        self._applied = 0
        self._restarting = False
        self.stream_done = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Tabs(id="aggregations")
        yield AggTable(id="table")
        yield DetailPane(id="detail")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#aggregations", Tabs).display = False
        self.query_one(AggTable).focus()
        self.refresh_view()
        self._start_stream()

    def on_unmount(self) -> None:
        self.source.stop()
        if self.recorder is not None:
            self.recorder.close()

    # ------------------------------------------------------------------ the stream

    def _start_stream(self) -> None:
        self.stream_done = False
        self.run_worker(self._pump, thread=True, exclusive=True, group="stream", name="snapshot stream")

    def _pump(self) -> None:
        """Runs in a thread: iterate the source and post what happens."""
        error = None
        last = None
        try:
            for snap in self.source.snapshots():
                self._deliver(snap)
                last = snap
        except UserError as err:
            error = str(err)
            # A dying tracer's final snapshot (its drops and errors) is kept in the error.
            kept = getattr(err, "snapshots", None) or []
            if kept and kept[-1] is not last and kept[-1].final:
                self._deliver(kept[-1])
        except Exception as err:  # noqa: BLE001 - shown on screen, the last data stays
            error = f"internal error: {type(err).__name__}: {err}"
        self.post_message(StreamEnded(error))

    def _deliver(self, snap) -> None:
        if self.recorder is not None:
            self.recorder.record(snap)
        self._posted += 1
        self.post_message(SnapshotArrived(snap))

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self._applied += 1
        # Paused, the screen holds still but the state keeps up (and stays bounded).
        self.state.ingest(message.snapshot)
        if self.view.paused:
            try:
                self._show_status_only()
            except NoMatches:
                pass
        elif self._applied >= self._posted:  # bursts collapse: redraw once the queue is drained
            self.refresh_view()

    def on_stream_ended(self, message: StreamEnded) -> None:
        if self._restarting:  # the tracer was stopped (interrupted) to change the interval
            self._restarting = False
            self.source.reset()
            self._start_stream()
            return
        self._restarting = False
        self.stream_done = True
        self.view.ended = True
        self.view.failure = message.error
        self.refresh_view()

    # ------------------------------------------------------------------ drawing

    def refresh_view(self) -> None:
        try:
            self._refresh_view()
        except NoMatches:
            pass  # a message that arrived while the app was closing its widgets

    def _ask(self, screen, answer) -> None:
        """Show a modal screen; the table is redrawn once it closes (see _refresh_view)."""

        def then(result) -> None:
            answer(result)
            self.refresh_view()

        self.push_screen(screen, then)

    def _refresh_view(self) -> None:
        if len(self.screen_stack) > 1:
            # Under a modal screen the table would be only partly repainted; snapshots
            # are still ingested and the table catches up when the modal closes.
            self._show_status_only()
            return
        state = self.state
        table = self.query_one(AggTable)
        self._sync_tabs()
        name = self.aggregation
        if name is None or name not in state.aggregations:
            table.set_view(TableView.empty())
            self.query_one(DetailPane).show(state, "", None)
            self._show_status(0, 0)
            return
        agg = state.aggregations[name]
        titles = [c.title for c in state.columns(name, self.group_by)]
        if self.sort_title not in titles:
            self.sort_title = _default_sort(titles)
            self.sort_descending = True
        view = state.view(
            name, self.group_by, self.view.text_filter, self.view.zone, self.sort_title, self.sort_descending
        )
        table.set_view(
            view,
            unit=agg.unit,
            sort_column=titles.index(self.sort_title),
            keep_keys=table.selected_keys,
        )
        self.query_one(DetailPane).show(state, name, table.selected)
        self._show_status(len(view), len(agg.ids))

    def _show_status_only(self) -> None:
        agg = self.state.aggregations.get(self.aggregation) if self.aggregation else None
        self._show_status(self.view.shown, len(agg.ids) if agg else 0)

    def _show_status(self, shown: int, total: int) -> None:
        self.view.shown, self.view.total = shown, total
        if self.aggregation is not None and self.group_by is not None:
            names = self.state.aggregations[self.aggregation].column_names()
            self.view.group = ",".join(names[i] for i in self.group_by if i < len(names))
        else:
            self.view.group = ""
        self.query_one(StatusBar).show(self.source.info, self.state, self.view)

    def _sync_tabs(self) -> None:
        names = list(self.state.aggregations)
        if self.aggregation is None and names:
            self.aggregation = names[0]
        tabs = self.query_one("#aggregations", Tabs)
        if tabs.tab_count != len(names):
            for index in range(tabs.tab_count, len(names)):
                tabs.add_tab(Tab(f"@{names[index]}", id=f"agg-{index}"))
        tabs.display = len(names) > 1

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is None or event.tab.id is None:
            return
        names = list(self.state.aggregations)
        index = int(event.tab.id.split("-", 1)[1])
        if index < len(names) and names[index] != self.aggregation:
            self._switch_to(names[index])

    def _switch_to(self, name: str) -> None:
        self.aggregation = name
        self.group_by = None
        self.view.zone = None
        self.query_one(AggTable).reset_cursor()
        self.refresh_view()

    def on_row_selected(self, message: RowSelected) -> None:
        if self.aggregation is not None:
            try:
                self.query_one(DetailPane).show(self.state, self.aggregation, self.query_one(AggTable).selected)
            except NoMatches:
                pass

    def on_sort_requested(self, message: SortRequested) -> None:
        columns = self.query_one(AggTable).columns
        if message.column >= len(columns):
            return
        title = columns[message.column].title
        if title == self.sort_title:
            self.sort_descending = not self.sort_descending
        else:
            self.sort_title = title
            self.sort_descending = columns[message.column].numeric
        self.refresh_view()

    # ------------------------------------------------------------------ actions

    def action_pause(self) -> None:
        self.view.paused = not self.view.paused
        if self.source.pauses_itself:
            self.source.pause(self.view.paused)
        self.refresh_view()

    def action_sort(self) -> None:
        columns = self.query_one(AggTable).columns
        if not columns:
            return
        titles = [c.title for c in columns]
        index = (titles.index(self.sort_title) + 1) % len(titles) if self.sort_title in titles else 0
        self.sort_title = titles[index]
        self.sort_descending = columns[index].numeric
        self.refresh_view()

    def action_reverse_sort(self) -> None:
        self.sort_descending = not self.sort_descending
        self.refresh_view()

    def action_filter(self) -> None:
        def apply(text: str | None) -> None:
            if text is not None:
                self.view.text_filter = text.strip()
                self.query_one(AggTable).reset_cursor()
                self.refresh_view()

        self._ask(PromptScreen("filter rows (text in any key; empty clears):", self.view.text_filter), apply)

    def action_group(self) -> None:
        if self.aggregation is None:
            return
        names = self.state.aggregations[self.aggregation].column_names()
        choices: list[tuple[str, object]] = [("all keys (no grouping)", None)]
        choices += [(f"by {name}", (i,)) for i, name in enumerate(names)]

        def apply(choice: object) -> None:
            if choice is not ChoiceScreen.CANCELLED:
                self.group_by = choice  # type: ignore[assignment]
                self.query_one(AggTable).reset_cursor()
                self.refresh_view()

        self._ask(ChoiceScreen("group rows by:", choices), apply)

    def action_zone(self) -> None:
        if self.aggregation is None:
            return
        zones = self.state.zones(self.aggregation)
        if not zones:
            self.notify("this aggregation has no zone key (zonename, cgroup, container)", severity="warning")
            return
        choices: list[tuple[str, object]] = [("all zones", None)] + [(zone, zone) for zone in zones]

        def apply(choice: object) -> None:
            if choice is not ChoiceScreen.CANCELLED:
                self.view.zone = choice  # type: ignore[assignment]
                self.query_one(AggTable).reset_cursor()
                self.refresh_view()

        self._ask(ChoiceScreen("show one zone:", choices), apply)

    def action_interval(self, direction: int) -> None:
        if self.source.can_change_interval:
            current = self.source.info.interval or 1.0
            new = _step(INTERVALS, current, direction)
            if new == current:
                return
            self.source.set_interval(new)
            if not self.stream_done:
                self._restarting = True
                self.source.stop()
            self.notify(f"interval {new:g}s (restarting the tracer)")
        elif hasattr(self.source, "speed"):
            # A longer interval in a replay means slower playback.
            speed = _step(SPEEDS, self.source.speed or 1.0, -direction)
            self.source.speed = speed
            self.view.speed = speed
            self.notify(f"replay speed x{speed:g}")
        self.refresh_view()

    def action_write(self) -> None:
        if self.recorder is None:
            self.notify("recording is off", severity="warning")
            return
        default = _dt.datetime.now(_dt.UTC).strftime("dtscope-top-%Y%m%d-%H%M%S.jsonl")

        def apply(path: str | None) -> None:
            if not path:
                return
            try:
                count = self.recorder.save(path.strip())
            except OSError as err:
                self.notify(f"cannot write {path}: {err.strerror or err}", severity="error")
                return
            dropped = self.recorder.dropped
            note = f" (the {dropped} oldest were dropped to bound the spool)" if dropped else ""
            self.notify(f"wrote {count} snapshots to {path}{note}")

        self._ask(PromptScreen("write the run so far to (JSONL):", default), apply)

    def action_help(self) -> None:
        self._ask(HelpScreen(), lambda _: None)

    def action_clear(self) -> None:
        self.view.text_filter = ""
        self.view.zone = None
        self.group_by = None
        self.refresh_view()

    def action_next_aggregation(self, step: int) -> None:
        names = list(self.state.aggregations)
        if len(names) < 2 or self.aggregation not in names:
            return
        name = names[(names.index(self.aggregation) + step) % len(names)]
        tabs = self.query_one("#aggregations", Tabs)
        tabs.active = f"agg-{names.index(name)}"
        self._switch_to(name)


def tune_garbage_collector() -> None:
    """Fewer full collections: with 10,000 keys a snapshot allocates ~50,000 objects, and
    each automatic full pass over everything alive costs up to a second on a busy host.
    Objects alive at startup (modules, the app) are frozen out of collection."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


def _default_sort(titles: list[str]) -> str:
    for preferred in ("p99", "rate/s"):
        if preferred in titles:
            return preferred
    return titles[-1]


def _step(choices: tuple[float, ...], current: float, direction: int) -> float:
    if direction > 0:
        return next((c for c in choices if c > current), choices[-1])
    return next((c for c in reversed(choices) if c < current), choices[0])
