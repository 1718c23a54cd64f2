"""A row's rate over the history window as a one-line sparkline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.widgets import Static

from .estimate import format_rate, format_value
from .heatmap import bin_time, snapshots_per_column

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int) -> str:
    """``values`` as block characters, scaled to their maximum; when there are more
    values than ``width``, neighbours are averaged (aligned on the newest) so the whole
    window fits."""
    values = list(values)
    if width <= 0:
        return ""
    per = snapshots_per_column(len(values), width)
    if per > 1:  # the heat map's binning, as averages
        values = list(bin_time(np.asarray(values, dtype=float).reshape(-1, 1), width)[:, 0] / per)
    tail = values[-width:]
    top = max(tail, default=0.0)
    if top <= 0:
        return BLOCKS[0] * len(tail)
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int(v / top * (len(BLOCKS) - 1) + 0.5))] if v > 0 else " " for v in tail)


class RateSparkline(Static):
    DEFAULT_CSS = """
    RateSparkline {
        height: 2;
        color: $success;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    _last: tuple | None = None

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(self, values: Sequence[float], label: str, unit: str | None = None) -> None:
        self._last = (values, label, unit)
        width = max(1, self.size.width or 40)
        last = values[-1] if values else None
        peak = max(values, default=None)
        fmt = format_rate if unit is None else (lambda v: format_value(v, unit))
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{label} now {fmt(last)} peak {fmt(peak)}\n", style="bold")
        text.append(sparkline(values, width))
        self.update(text)
