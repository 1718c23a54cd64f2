"""A latency heat map in the terminal: time across, buckets up, shaded by count.

Each column is one snapshot of the history window (newest on the right); each line a
bucket (highest values on top, labelled by the bucket's low end). A cell's shade
grows with the log of its count relative to the busiest cell, so a few slow calls
stay visible next to millions of fast ones. When there are more buckets than lines,
neighbouring buckets share a line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.widgets import Static

from .estimate import format_value

SHADES = " ░▒▓█"
SHADE_STYLES = ("", "yellow", "dark_orange", "red", "bold red")
LABEL_WIDTH = 7


def snapshots_per_column(snapshots: int, columns: int) -> int:
    """How many snapshots share a column so the whole window fits the width."""
    return max(1, math.ceil(snapshots / max(1, columns)))


def bin_time(matrix: np.ndarray, columns: int) -> np.ndarray:
    """Sum consecutive snapshots (rows of ``matrix``) so at most ``columns`` remain.

    Bins are aligned on the newest snapshot, so the right edge is always "now"."""
    per = snapshots_per_column(len(matrix), columns)
    if per == 1:
        return matrix
    pad = (-len(matrix)) % per
    padded = np.concatenate([np.zeros((pad, matrix.shape[1]), dtype=matrix.dtype), matrix]) if pad else matrix
    return padded.reshape(-1, per, matrix.shape[1]).sum(axis=1)


def heat_lines(
    bounds: Sequence[tuple[int | None, int | None]],
    matrix: np.ndarray,
    width: int,
    height: int,
    unit: str | None = None,
) -> list[list[tuple[str, str]]]:
    """Lines of (text, style) pieces; ``matrix`` is snapshots x buckets (value order)."""
    if not len(bounds) or matrix.size == 0 or height <= 0:
        return []
    columns = max(1, width - LABEL_WIDTH - 1)
    recent = bin_time(matrix, columns)
    per_line = math.ceil(len(bounds) / height)
    groups = [list(range(start, min(start + per_line, len(bounds)))) for start in range(0, len(bounds), per_line)]
    merged = np.stack([recent[:, group].sum(axis=1) for group in groups], axis=1)  # time x line
    top = merged.max()
    scale = math.log1p(top) if top > 0 else 1.0
    lines = []
    for line_index in reversed(range(len(groups))):
        low = bounds[groups[line_index][0]][0]
        label = format_value(low, unit) if low is not None else "<"
        pieces = [(f"{label:>{LABEL_WIDTH}} ", "dim")]
        for count in merged[:, line_index]:
            level = 0 if count <= 0 else max(1, min(len(SHADES) - 1, math.ceil(math.log1p(count) / scale * (len(SHADES) - 1))))
            pieces.append((SHADES[level], SHADE_STYLES[level]))
        lines.append(pieces)
    return lines


class HeatMap(Static):
    DEFAULT_CSS = """
    HeatMap {
        height: 1fr;
        overflow: hidden;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    _last: tuple | None = None

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def show(self, bounds, matrix: np.ndarray, unit: str | None, history_seconds: float | None) -> None:
        self._last = (bounds, matrix, unit, history_seconds)
        width = self.size.width or 40
        per = snapshots_per_column(len(matrix), width - LABEL_WIDTH - 1)
        span = f" last {history_seconds:.0f}s" if history_seconds else ""
        if per > 1 and history_seconds:
            span += f", {history_seconds / len(matrix) * per:.0f}s a column"
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"heat map{span} (time →)\n", style="bold")
        lines = heat_lines(bounds, matrix, width, max(1, (self.size.height or 6) - 1), unit)
        if not lines:
            text.append("no histogram data", style="dim")
        for index, pieces in enumerate(lines):
            for piece, style in pieces:
                text.append(piece, style=style)
            if index < len(lines) - 1:
                text.append("\n")
        self.update(text)
