"""The detail pane of the selected row: its distribution, rate sparkline and heat map."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from .distribution import Distribution
from .heatmap import HeatMap
from .sparkline import RateSparkline
from .state import TopState, ViewRow


class DetailPane(Horizontal):
    DEFAULT_CSS = """
    DetailPane {
        height: 11;
        max-height: 45%;
        border-top: solid $primary;
    }
    DetailPane > Distribution {
        width: 3fr;
        min-width: 30;
    }
    DetailPane > #detail-right {
        width: 2fr;
        padding-left: 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Distribution(id="distribution")
        with Vertical(id="detail-right"):
            yield RateSparkline(id="sparkline")
            yield HeatMap(id="heatmap")

    def show(self, state: TopState, aggregation: str, row: ViewRow | None) -> None:
        distribution = self.query_one(Distribution)
        sparkline = self.query_one(RateSparkline)
        heatmap = self.query_one(HeatMap)
        agg = state.aggregations.get(aggregation)
        if agg is None or row is None:
            distribution.show(None, "quantize", None, "no row selected")
            sparkline.show([], "rate/s")
            heatmap.show([], _empty(), None, None)
            return
        title = " ".join(str(k) for k in row.keys) or f"@{aggregation}"
        if agg.is_histogram:
            distribution.show(row.buckets, agg.function, agg.unit, title)
        else:
            distribution.show_scalar(title, agg.function, row, agg.unit)
        series = state.rate_series(aggregation, row.members)
        sparkline.show(series, "rate/s" if agg.has_rate else agg.function, None if agg.has_rate else agg.unit)
        bounds, matrix = state.heat(aggregation, row.members)
        seconds = sum(e.interval or 0 for e in state.history)
        heatmap.show(bounds, matrix, agg.unit, seconds)


def _empty():
    import numpy as np

    return np.zeros((0, 0), dtype=np.int64)
