"""The main table: one line per key (or group), drawn with Textual's line API.

Only the visible lines are rendered, so replacing 10,000 rows every second costs a
sort and nothing per row until it scrolls into view (Textual's DataTable measures
every cell it is given, which takes seconds at that size).
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .estimate import format_count, format_rate, format_value
from .messages import RowSelected, SortRequested
from .state import Column, TableView, ViewRow

NUMBER_WIDTH = 8
MIN_KEY_WIDTH = 6


class AggTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    AggTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
    }
    AggTable > .aggtable--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    AggTable > .aggtable--sorted {
        text-style: bold underline;
        background: $panel;
        color: $accent;
    }
    AggTable > .aggtable--cursor {
        background: $accent 40%;
    }
    AggTable:focus > .aggtable--cursor {
        background: $accent;
        color: $text;
    }
    AggTable > .aggtable--worst {
        color: $error;
        text-style: bold;
    }
    AggTable > .aggtable--idle {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "aggtable--header",
        "aggtable--sorted",
        "aggtable--cursor",
        "aggtable--worst",
        "aggtable--idle",
    }

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Top", show=False),
        Binding("end", "jump(-1)", "Bottom", show=False),
    ]

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.view = TableView.empty()
        self.worst: set[int] = set()
        self.unit: str | None = None
        self.sort_column = 0
        self.cursor = 0
        # Once the user picks a row the cursor follows it as the order changes; until
        # then (and after Home) it stays on the first, worst, row.
        self.following = False
        self._widths: list[int] = []

    # ------------------------------------------------------------------ data

    @property
    def columns(self) -> list[Column]:
        return self.view.columns

    def set_view(
        self,
        view: TableView,
        *,
        unit: str | None = None,
        sort_column: int = 0,
        keep_keys: tuple | None = None,
    ) -> None:
        """Replace the content; a followed cursor stays on the row with ``keep_keys`` if it is still there."""
        self.view = view
        self.worst = view.worst()
        self.unit = unit
        self.sort_column = sort_column
        if keep_keys is not None and self.following:
            found = view.index_of(keep_keys)
            if found is not None:
                self.cursor = found
        self.cursor = max(0, min(self.cursor, len(view) - 1))
        self._widths = []
        self.virtual_size = Size(self._content_width(), len(view) + 1)
        self._scroll_cursor_into_view()
        self.refresh()

    def reset_cursor(self) -> None:
        """Back to the first row, not following any row (after a filter, regroup, new tab)."""
        self.cursor = 0
        self.following = False
        self.scroll_to(y=0, animate=False)

    @property
    def selected(self) -> ViewRow | None:
        return self.view.row(self.cursor) if 0 <= self.cursor < len(self.view) else None

    @property
    def selected_keys(self) -> tuple | None:
        return self.view.keys(self.cursor) if 0 <= self.cursor < len(self.view) else None

    # ------------------------------------------------------------------ keys

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else len(self.view) - 1)
        self.following = where != 0

    def _move_to(self, index: int) -> None:
        index = max(0, min(index, len(self.view) - 1))
        self.following = True
        if index != self.cursor:
            self.cursor = index
            self._scroll_cursor_into_view()
            self.refresh()
            self.post_message(RowSelected(index))

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def on_click(self, event: Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None:
                self.post_message(SortRequested(column))
            return
        self._move_to(int(self.scroll_y) + event.y - 1)

    def _column_at(self, x: int) -> int | None:
        offset = 0
        for index, width in enumerate(self._column_widths()):
            if offset <= x < offset + width + 1:
                return index
            offset += width + 1
        return None

    # ------------------------------------------------------------------ drawing

    def on_resize(self) -> None:
        self._widths = []
        self.virtual_size = Size(self._content_width(), len(self.view) + 1)

    def _column_widths(self) -> list[int]:
        if self._widths:
            return self._widths
        key_columns = [i for i, c in enumerate(self.columns) if not c.numeric]
        numbers = len(self.columns) - len(key_columns)
        space = max(0, self._content_width() - numbers * (NUMBER_WIDTH + 1) - len(key_columns))
        widths = [NUMBER_WIDTH] * len(self.columns)
        if key_columns:
            # Each key column gets what its longest value (in the first rows) needs, shrunk to fit.
            sample = [self.view.keys(i) for i in range(min(500, len(self.view)))]
            wanted = []
            for i in key_columns:
                column = self.columns[i]
                longest = max((len(str(_key_at(k, column.key_index))) for k in sample), default=0)
                wanted.append(max(MIN_KEY_WIDTH, len(column.title), longest))
            while sum(wanted) > space and max(wanted) > MIN_KEY_WIDTH:
                widest = wanted.index(max(wanted))
                wanted[widest] -= 1
            for i, width in zip(key_columns, wanted):
                widths[i] = width
            # Give the leftover space to the last key column so numbers line up on the right.
            leftover = space - sum(wanted)
            if leftover > 0:
                widths[key_columns[-1]] += leftover
        self._widths = widths
        return widths

    def _content_width(self) -> int:
        """The width left of the vertical scrollbar (when one is shown)."""
        return self.scrollable_content_region.width

    def render_line(self, y: int) -> Strip:
        width = self._content_width()
        if y == 0:
            return self._header(width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.view):
            return Strip.blank(width, self.rich_style)
        return self._row(index, width)

    def _header(self, width: int) -> Strip:
        base = self.get_component_rich_style("aggtable--header")
        sorted_style = self.get_component_rich_style("aggtable--sorted")
        segments = []
        for index, (column, cell_width) in enumerate(zip(self.columns, self._column_widths())):
            style = sorted_style if index == self.sort_column else base
            segments.append(Segment(_fit(column.title, cell_width, column.numeric), style))
            segments.append(Segment(" ", base))
        return Strip(segments).adjust_cell_length(width, base)

    def _row(self, index: int, width: int) -> Strip:
        row = self.view.row(index, with_buckets=False)
        style = self.rich_style
        if index in self.worst:
            style = style + self.get_component_rich_style("aggtable--worst")
        elif row.rate == 0 and row.p50 is None and row.value is None:
            style = style + self.get_component_rich_style("aggtable--idle")
        if index == self.cursor:
            style = style + self.get_component_rich_style("aggtable--cursor")
        segments = []
        for column, cell_width in zip(self.columns, self._column_widths()):
            segments.append(Segment(_fit(self._cell(row, column), cell_width, column.numeric), style))
            segments.append(Segment(" ", style))
        return Strip(segments).adjust_cell_length(width, style)

    def _cell(self, row: ViewRow, column: Column) -> str:
        if column.attribute == "key":
            return str(_key_at(row.keys, column.key_index))
        value = getattr(row, column.attribute)
        if column.attribute == "rate":
            return format_rate(value)
        if column.attribute == "count":
            return format_count(value)
        return format_value(value, self.unit)


def _key_at(keys: tuple, index: int):
    return keys[index] if index < len(keys) else ""


def _fit(text: str, width: int, right: bool) -> str:
    text = text.replace("\n", " ")
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.rjust(width) if right else text.ljust(width)

