"""`dtscope top`: the state (percentiles from buckets, history, regrouping) and the app
driven by a Pilot on replayed runs (tests/fixtures/tui/, made by generate.py there).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from pathlib import Path

import pytest
from dtscope.collectors.base import TracerError
from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot, read_jsonl
from dtscope.tui.app import TopApp
from dtscope.tui.distribution import fit_height, render_quantize
from dtscope.tui.estimate import (
    estimate_max,
    estimate_quantile,
    format_value,
    summarize,
    summarize_cells,
)
from dtscope.tui.heatmap import heat_lines
from dtscope.tui.source import ReplaySource, SnapshotSource, SourceInfo
from dtscope.tui.sparkline import sparkline
from dtscope.tui.state import TopState

FIXTURES = Path(__file__).parent / "fixtures" / "tui"
SYSCALLS = FIXTURES / "syscalls.jsonl"
ZONES = FIXTURES / "zones.jsonl"
FAILED = FIXTURES / "failed.jsonl"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def snapshots(path: Path) -> list[Snapshot]:
    with open(path) as fh:
        return list(read_jsonl(fh))


def state_of(path: Path, history: int = 120) -> TopState:
    state = TopState(history=history)
    for snap in snapshots(path):
        state.ingest(snap)
    return state


# --------------------------------------------------------------------------- estimates


def test_percentile_interpolates_inside_the_bucket_that_holds_the_rank():
    # 40 values in [2048, 4096) and 10 in [4096, 8192): the median is the 25th value,
    # 25/40 of the way through the integers 2048..4095.
    buckets = [Bucket(2048, 4096, 40), Bucket(4096, 8192, 10)]
    assert estimate_quantile(buckets, 0.5) == 2048 + 25 / 40 * 2047
    # p90 is rank 45: 5 of the 10 values of the second bucket.
    assert estimate_quantile(buckets, 0.9) == 4096 + 5 / 10 * 4095
    assert estimate_max(buckets) == 8191
    assert summarize(buckets) == (
        2048 + 25 / 40 * 2047,
        4096 + 5 / 10 * 4095,
        4096 + 9.5 / 10 * 4095,
        8191,
    )


def test_percentiles_of_open_and_empty_buckets():
    assert summarize([]) == (None, None, None, None)
    assert summarize([Bucket(0, 1, 0)]) == (None, None, None, None)
    # An lquantize underflow bucket has no low end; an overflow bucket no high end.
    assert estimate_quantile([Bucket(None, 10, 5)], 0.5) == 9
    assert estimate_quantile([Bucket(100, None, 5)], 0.99) == 100
    assert estimate_max([Bucket(0, 10, 3), Bucket(100, None, 1)]) == 100
    # A bucket holding one integer gives that integer exactly.
    assert summarize([Bucket(7, 8, 3)]) == (7, 7, 7, 7)


def test_vectorised_percentiles_agree_with_the_one_row_estimate():
    import numpy as np

    rng = np.random.default_rng(7)
    rows, lo, hi, counts, expected = [], [], [], [], []
    for row in range(300):
        buckets = []
        for exponent in sorted(rng.choice(40, size=int(rng.integers(0, 6)), replace=False).tolist()):
            buckets.append(Bucket(2**exponent, 2 ** (exponent + 1), int(rng.integers(0, 1000))))
        if row % 50 == 0:
            buckets = [Bucket(None, 0, 3)] + buckets + [Bucket(2**41, None, 2)]
        expected.append(summarize(buckets))
        for b in buckets:
            if b.count:
                rows.append(row)
                lo.append(-np.inf if b.lo is None else b.lo)
                hi.append(np.inf if b.hi is None else b.hi)
                counts.append(b.count)
    got = summarize_cells(np.array(rows, dtype=np.int64), np.array(lo), np.array(hi), np.array(counts), 300)
    for row, want in enumerate(expected):
        for k in range(4):
            if want[k] is None:
                assert np.isnan(got[k][row])
            else:
                assert got[k][row] == pytest.approx(want[k], rel=1e-9), (row, k)


def test_formatting_of_durations_and_sizes():
    assert format_value(1535.5, "ns") == "1.54us"
    assert format_value(12582911.5, "ns") == "12.6ms"
    assert format_value(2.5e9, "ns") == "2.50s"
    assert format_value(512, "ns") == "512ns"
    assert format_value(None, "ns") == "-"
    assert format_value(3 * 2**20, "bytes") == "3.00MB"
    assert format_value(1500, None) == "1.50k"


# --------------------------------------------------------------------------- drawing


def test_quantize_is_drawn_as_dtrace_draws_it():
    lines = render_quantize([Bucket(2048, 4096, 40), Bucket(4096, 8192, 10)])
    assert lines == [
        "           value  ------------- Distribution ------------- count",
        "            1024 |                                         0",
        "            2048 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@         40",
        "            4096 |@@@@@@@@                                 10",
        "            8192 |                                         0",
    ]


def test_quantize_fills_empty_powers_of_two_between_buckets():
    lines = render_quantize([Bucket(1024, 2048, 1), Bucket(8192, 16384, 1)], bar_width=10)
    values = [line.split("|")[0].strip() for line in lines[1:]]
    assert values == ["512", "1024", "2048", "4096", "8192", "16384"]
    # Too tall for the pane: the empty buckets inside collapse to one line.
    short = fit_height(lines, 5)
    assert [line.split("|")[0].strip() for line in short[1:]] == ["512", "1024", ":", "8192", "16384"]


def test_lquantize_open_ends_are_labelled():
    lines = render_quantize([Bucket(None, 0, 2), Bucket(0, 10, 0), Bucket(10, None, 2)], "lquantize", 10)
    assert [line.split("|")[0].strip() for line in lines[1:]] == ["< 0", "0", ">= 10"]


def test_sparkline_and_heat_map_shapes():
    assert sparkline([0, 1, 2, 4], 10) == " ▃▅█"
    assert sparkline([5, 5], 1) == "█"
    import numpy as np

    bounds = [(1024, 2048), (2048, 4096)]
    matrix = np.array([[0, 0], [10, 0], [10, 1]])
    lines = heat_lines(bounds, matrix, width=11, height=4, unit="ns")
    text = ["".join(piece for piece, _ in line) for line in lines]
    # count 1 next to 10: log scale gives it the second shade, not nothing
    assert text == [" 2.05us   ▒", " 1.02us  ██"]


def test_the_whole_window_fits_the_width():
    import numpy as np
    from dtscope.tui.heatmap import bin_time

    # 20 values in 10 cells: pairs are averaged, the newest pair on the right.
    assert sparkline([1] * 10 + [5] * 10, 10) == "▂▂▂▂▂█████"
    # 5 snapshots in 2 columns: 3 per column, padded with nothing at the old end.
    matrix = np.array([[1], [2], [3], [4], [5]])
    assert bin_time(matrix, 2).tolist() == [[3], [12]]
    assert bin_time(matrix, 5).tolist() == matrix.tolist()


# --------------------------------------------------------------------------- state


def test_rows_have_rate_total_and_percentiles_of_the_last_interval():
    state = state_of(SYSCALLS)
    rows = {row.keys: row for row in state.view("lat").rows()}
    fsync = rows[("postgres", "fsync")]
    assert fsync.rate == 10.0 and fsync.count == 60
    assert fsync.p50 == pytest.approx(2**23 + 0.5 * (2**23 - 1))
    assert fsync.max == 2**24 - 1
    # backup started in the 4th snapshot: 5, 10, 15 in [1 MiB, 2 MiB) and 1, 2, 3 above.
    backup = rows[("backup", "write")]
    assert backup.rate == 18.0 and backup.count == 36
    assert [(b.lo, b.count) for b in backup.buckets] == [(2**20, 15), (2**21, 3)]
    assert [c.title for c in state.columns("lat")] == [
        "execname", "probefunc", "rate/s", "count", "p50", "p90", "p99", "max"
    ]


def test_regroup_by_one_key_column_merges_buckets():
    state = state_of(SYSCALLS)
    rows = {row.keys: row for row in state.view("lat", group_by=(0,)).rows()}
    nginx = rows[("nginx",)]
    assert nginx.rate == 150.0 and nginx.count == 900
    assert [(b.lo, b.count) for b in nginx.buckets] == [(1024, 100), (2048, 40), (4096, 10)]
    # Rank 75 of 150 is the last read (all 100 in [1024, 2048)): p50 near its top.
    assert nginx.p50 == pytest.approx(1024 + 75 / 100 * 1023)
    assert state.columns("lat", (0,))[0].title == "execname"
    assert len(nginx.members) == 2


def test_text_filter_and_zone_filter():
    state = state_of(ZONES)
    assert {r.keys for r in state.view("lat", text="NGINX").rows()} == {("web", "nginx")}
    assert state.zones("lat") == ["db", "global", "web"]
    assert {r.keys for r in state.view("lat", zone="db").rows()} == {("db", "postgres"), ("db", "pgbouncer")}
    calls = {r.keys: r for r in state.view("calls", group_by=(0,)).rows()}
    assert calls[("web",)].rate == 560.0 and calls[("web",)].count == 2240


def test_sort_and_worst_rows():
    state = state_of(SYSCALLS)
    view = state.view("lat", sort="p99", descending=True)
    assert [r.keys[0] for r in view.rows()] == ["postgres", "backup", "sshd", "nginx", "nginx"]
    assert view.worst() == {0, 1, 2}
    by_name = state.view("lat", sort="execname", descending=False)
    assert [r.keys[0] for r in by_name.rows()] == ["backup", "nginx", "nginx", "postgres", "sshd"]
    by_rate = state.view("lat", group_by=(0,), sort="rate/s", descending=True)
    assert [(r.keys, r.rate) for r in by_rate.rows()] == [
        (("nginx",), 150.0), (("backup",), 18.0), (("postgres",), 10.0), (("sshd",), 2.0)
    ]


def test_history_feeds_sparkline_and_heat_map():
    state = state_of(SYSCALLS)
    backup = next(r for r in state.view("lat").rows() if r.keys == ("backup", "write"))
    assert state.rate_series("lat", backup.members) == [0, 0, 0, 6.0, 12.0, 18.0]
    bounds, matrix = state.heat("lat", backup.members)
    assert bounds == [(2**20, 2**21), (2**21, 2**22)]
    assert matrix.tolist() == [[0, 0], [0, 0], [0, 0], [5, 1], [10, 2], [15, 3]]


def test_history_is_a_fixed_window_and_idle_keys_are_forgotten():
    info = {"lat": AggInfo("lat", "quantize", ["pid"], "ns")}
    state = TopState(history=5, idle_limit=3)
    for i in range(50):
        # Every snapshot has 100 fresh keys: without limits they would pile up.
        rows = [AggRow("lat", "quantize", (i * 100 + k,), 1, [Bucket(1, 2, 1)]) for k in range(100)]
        state.ingest(Snapshot(T0 + dt.timedelta(seconds=i), rows, seq=i, interval=1.0, aggregations=info))
    agg = state.aggregations["lat"]
    assert len(state.history) == 5
    assert len(agg.keys) == len(agg.ids) == 300  # the last three snapshots' keys
    view = state.view("lat", sort="pid", descending=True)
    assert view.keys(0) == (4999,) and view.keys(299) == (4700,)
    assert view.row(0).rate == 1.0 and view.row(299).rate == 0.0  # idle for two intervals
    assert view.row(299).count == 1


def test_cumulative_snapshots_are_differenced():
    info = {"c": AggInfo("c", "count", ["execname"], None)}
    state = TopState()
    for i, total in enumerate((10, 30, 60)):
        row = AggRow("c", "count", ("make",), total)
        state.ingest(Snapshot(T0 + dt.timedelta(seconds=2 * i), [row], seq=i, interval=None, aggregations=info))
    (row,) = state.view("c").rows()
    assert row.rate == 15.0  # (60 - 30) / 2 s
    assert row.count == 60


def test_a_dead_tracers_last_words_keep_the_data():
    state = state_of(FAILED)
    assert state.tracer_state == "failed"
    assert state.drops == {"aggregation": 2} and state.errors == 1
    rows = {r.keys: r for r in state.view("lat").rows()}
    assert rows[("redis",)].rate == 400.0


# --------------------------------------------------------------------------- the app


def run(coro):
    return asyncio.run(coro)


async def wait_until(pilot, condition, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)
    await pilot.pause()


def table_keys(app) -> list[tuple]:
    view = app.query_one("AggTable").view
    return [view.keys(i) for i in range(len(view))]


def table_rows(app):
    return app.query_one("AggTable").view.rows()


def screen_text(app) -> str:
    from textual.widgets import Static

    parts = [str(w.render()) for w in app.screen.query(Static)]
    table = app.query_one("AggTable")
    parts += [table.render_line(y).text for y in range(table.size.height)]
    return "\n".join(parts)


def test_app_shows_the_replayed_run_sorted_by_p99():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0), record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            table = app.query_one("AggTable")
            assert table_keys(app)[0] == ("postgres", "fsync")
            header = table.render_line(0).text
            for title in ("execname", "probefunc", "rate/s", "count", "p50", "p90", "p99", "max"):
                assert title in header
            first = table.render_line(1).text.split()
            assert first == ["postgres", "fsync", "10", "60", "12.6ms", "15.9ms", "16.7ms", "16.8ms"]
            text = screen_text(app)
            assert "replay done" in text and "syscalls.jsonl" in text
            assert "8388608 |@@@" in text  # the selected row's quantize

    run(scenario())


def test_keys_sort_filter_group_and_clear():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0), record=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            await pilot.press("s")  # p99 -> max
            assert app.sort_title == "max"
            await pilot.press("s")  # wraps to the first key column, ascending
            assert app.sort_title == "execname"
            assert [k[0] for k in table_keys(app)] == ["backup", "nginx", "nginx", "postgres", "sshd"]
            await pilot.press("S")
            assert table_keys(app)[0][0] == "sshd"

            await pilot.press("slash")
            await pilot.press(*"nginx", "enter")
            await pilot.pause()
            assert sorted(table_keys(app)) == [("nginx", "read"), ("nginx", "write")]
            assert "/nginx" in screen_text(app)

            await pilot.press("escape")
            assert len(table_keys(app)) == 5
            await pilot.press("g", "down", "enter")  # by execname
            await pilot.pause()
            assert sorted(table_keys(app)) == [("backup",), ("nginx",), ("postgres",), ("sshd",)]
            assert "by execname" in screen_text(app)
            nginx = next(r for r in table_rows(app) if r.keys == ("nginx",))
            assert (nginx.rate, nginx.count) == (150.0, 900)

    run(scenario())


def test_cursor_selects_the_row_shown_in_the_detail_pane():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0), record=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            await pilot.press("down")  # second worst by p99: backup write
            await pilot.pause()
            assert app.query_one("AggTable").selected.keys == ("backup", "write")
            text = screen_text(app)
            assert "backup write (ns)" in text
            assert "1048576 |" in text and "2097152 |" in text
            assert "rate/s now 18 peak 18" in text

    run(scenario())


def test_zone_filter_and_aggregation_tabs():
    async def scenario():
        app = TopApp(ReplaySource(str(ZONES), speed=0), record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            assert app.query_one("#aggregations").display
            await pilot.press("z")
            await pilot.press("down", "enter")  # zones are sorted: db first after "all zones"
            await pilot.pause()
            assert sorted(table_keys(app)) == [("db", "pgbouncer"), ("db", "postgres")]
            assert "zone=db" in screen_text(app)
            await pilot.press("right_square_bracket")
            await pilot.pause()
            assert app.aggregation == "calls"
            assert table_keys(app)[0] == ("web", "nginx")  # sorted by rate
            assert [c.title for c in app.query_one("AggTable").columns][-2:] == ["rate/s", "count"]

    run(scenario())


def test_zone_key_needs_a_zone_column():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0), record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            await pilot.press("z")
            await pilot.pause()
            assert not isinstance(app.screen, __import__("textual.screen").screen.ModalScreen)
            assert any("no zone key" in n.message for n in app._notifications)

    run(scenario())


def test_write_saves_the_run_as_jsonl(tmp_path):
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            await pilot.press("w")
            prompt = app.screen.query_one("Input")
            prompt.value = str(tmp_path / "saved.jsonl")
            await pilot.press("enter")
            await pilot.pause()

    run(scenario())
    saved = (tmp_path / "saved.jsonl").read_text().splitlines()
    original = SYSCALLS.read_text().splitlines()
    assert [json.loads(line) for line in saved] == [json.loads(line) for line in original]
    assert not list(tmp_path.glob(".saved.jsonl.*"))  # the temporary file was renamed


def test_write_to_a_bad_path_says_so(tmp_path):
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            await pilot.press("w")
            app.screen.query_one("Input").value = str(tmp_path / "missing-dir" / "x.jsonl")
            await pilot.press("enter")
            await pilot.pause()
            assert any("cannot write" in n.message for n in app._notifications)

    run(scenario())


def test_pause_holds_the_screen_and_resume_catches_up():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=8), record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.state.snapshots >= 1)
            await pilot.press("p")
            await pilot.pause(0.2)  # a snapshot already on its way is still taken in
            seen = app.state.snapshots
            assert "PAUSED" in screen_text(app)
            await pilot.pause(0.6)  # several snapshot times at x8
            assert app.state.snapshots == seen
            await pilot.press("p")
            await wait_until(pilot, lambda: app.stream_done)
            assert app.state.snapshots == 6
            assert {r.keys: r.count for r in table_rows(app)}[("nginx", "read")] == 600

    run(scenario())


def test_plus_minus_change_the_replay_speed():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=1), record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("minus")  # shorter interval: faster
            assert app.source.speed == 2.0
            await pilot.press("plus", "plus")
            assert app.source.speed == 0.5
            assert "x0.5" in screen_text(app)

    run(scenario())


def test_help_screen_opens_and_closes():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0), record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert "linear interpolation" in str(app.screen.query_one("#help").render())
            await pilot.press("x")
            await pilot.pause()
            assert app.screen is app.screen_stack[0]

    run(scenario())


class ScriptedSource(SnapshotSource):
    """A live-like source: yields given snapshots, then fails (as a dying tracer does)."""

    can_change_interval = True

    def __init__(self, snaps: list[Snapshot], error: Exception | None = None):
        super().__init__(SourceInfo("bpftrace", "test.d", 1.0))
        self.snaps = snaps
        self.error = error
        self.opened_with: list[float | None] = []
        self.release = threading.Event()

    def snapshots(self):
        self.opened_with.append(self.info.interval)
        yield from self.snaps
        if self.error is not None:
            raise self.error
        while not self.stopped:  # a live tracer runs until stopped
            self.release.wait(0.05)


def test_a_tracer_that_dies_is_shown_and_the_data_stays():
    snaps = snapshots(SYSCALLS)[:2]
    # As the bpftrace backend does: the failed final snapshot travels in the error.
    last_words = Snapshot(T0 + dt.timedelta(seconds=3), [], seq=3, interval=1.0, final=True,
                          tracer_state="failed", drops={"aggregation": 3}, errors=["map full"])
    source = ScriptedSource(
        snaps, TracerError("bpftrace was killed by signal 9 before the run ended", [*snaps, last_words])
    )

    async def scenario():
        app = TopApp(source, record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            text = screen_text(app)
            assert "tracer FAILED: bpftrace was killed by signal 9" in text
            assert app.state.drops == {"aggregation": 3} and app.state.errors == 1
            assert "drops 3 err 1" in text
            assert len(table_keys(app)) == 4
            assert table_keys(app)[0] == ("postgres", "fsync")

    run(scenario())


def test_plus_restarts_a_live_tracer_with_a_longer_interval():
    source = ScriptedSource(snapshots(SYSCALLS)[:1])

    async def scenario():
        app = TopApp(source, record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.state.snapshots == 1)
            await pilot.press("plus")
            await wait_until(pilot, lambda: len(source.opened_with) == 2)
            assert source.opened_with == [1.0, 2.0]
            assert " 2s " in screen_text(app)
            source.stop()

    run(scenario())


def test_ten_thousand_keys_refresh_within_the_interval():
    info = {"lat": AggInfo("lat", "quantize", ["pid", "probefunc"], "ns")}
    rows = [
        AggRow("lat", "quantize", (k, "read"), 12, [Bucket(2**10, 2**11, 8), Bucket(2**14, 2**15, 4)])
        for k in range(10_000)
    ]
    snaps = [Snapshot(T0 + dt.timedelta(seconds=i), list(rows), seq=i, interval=1.0, aggregations=info) for i in range(3)]

    async def scenario():
        app = TopApp(ScriptedSource(snaps), record=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.state.snapshots == 3, timeout=30)
            assert app.view.shown == 10_000
            assert app.query_one("AggTable").render_line(1).text.split()[2:4] == ["12", "36"]
            app.source.stop()

    run(scenario())


@pytest.mark.parametrize("argv, message", [
    (["top", "--replay", "/nonexistent.jsonl"], "no such file"),
    (["top", "--replay", str(SYSCALLS), "--speed", "fast"], "--speed"),
    (["top", "--replay", str(SYSCALLS), "--interval", "0"], "--interval"),
    (["top", "--replay", str(SYSCALLS), "x.d"], "either a script or --replay"),
    (["top", "--replay", str(SYSCALLS), "--backend", "bpftrace"], "can only be replayed"),
    (["top", "--backend", "replay"], "needs a saved run"),
])
def test_bad_command_lines_give_a_clear_message(dtscope_cli, argv, message):
    code, _, err = dtscope_cli(*argv)
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_not_a_run_file_is_refused(dtscope_cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not json\n")
    code, _, err = dtscope_cli("top", "--replay", str(bad))
    assert code == 1 and "not a dtscope run" in err and "Traceback" not in err


def test_without_a_terminal_top_says_so(dtscope_cli):
    code, _, err = dtscope_cli("top", "--replay", str(SYSCALLS))
    assert code == 2 and "needs a terminal" in err


def test_without_root_top_says_so_before_the_screen_opens(monkeypatch, capsys):
    import shutil

    from dtscope import cli

    if shutil.which("bpftrace") is None:
        pytest.skip("the check comes after finding bpftrace")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    code = cli.main(["top", "--backend", "bpftrace"])
    err = capsys.readouterr().err
    assert code == 1 and "root" in err and "Traceback" not in err


def test_stopping_a_live_source_asks_its_run_to_stop_at_once():
    """q and +/- act at once: a stop does not wait for the run's next snapshot."""
    from types import SimpleNamespace

    from dtscope.tui.source import LiveSource

    class Run:  # stands in for session.SnapshotStream: no snapshot until it is stopped
        def __init__(self):
            self.asked = threading.Event()

        def __iter__(self):
            return self

        def __next__(self):
            if self.asked.wait(10):
                raise StopIteration
            raise AssertionError("the run was never asked to stop")

        def stop(self):
            self.asked.set()
            return True

    run = Run()
    source = LiveSource(None, "bpftrace", SimpleNamespace(interval=5.0), "test", first_stream=run)
    got: list = []
    worker = threading.Thread(target=lambda: got.extend(source.snapshots()))
    worker.start()
    started = time.monotonic()
    source.stop()
    worker.join(10)
    assert not worker.is_alive() and run.asked.is_set() and got == []
    assert time.monotonic() - started < 2


class GatedSource(ScriptedSource):
    """Yields one snapshot each time the test opens the gate."""

    def __init__(self, snaps):
        super().__init__(snaps)
        self.gate = threading.Semaphore(0)

    def snapshots(self):
        for snap in self.snaps:
            while not self.gate.acquire(timeout=0.05):
                if self.stopped:
                    return
            yield snap
        while not self.stopped:
            self.release.wait(0.05)


def test_a_paused_live_view_holds_the_screen_but_keeps_counting():
    source = GatedSource(snapshots(SYSCALLS))

    async def scenario():
        app = TopApp(source, record=False)
        async with app.run_test(size=(80, 24)) as pilot:
            source.gate.release()
            await wait_until(pilot, lambda: app.state.snapshots == 1)
            await pilot.press("p")
            source.gate.release()
            source.gate.release()
            await wait_until(pilot, lambda: app.state.snapshots == 3)
            # The screen still shows the first interval; the state has all three.
            assert {r.keys: r.count for r in table_rows(app)}[("nginx", "read")] == 100
            assert "PAUSED" in screen_text(app)
            await pilot.press("p")
            await pilot.pause()
            assert {r.keys: r.count for r in table_rows(app)}[("nginx", "read")] == 300
            source.stop()

    run(scenario())


def test_the_spool_is_a_bounded_ring(tmp_path):
    from dtscope.tui.recorder import RunRecorder

    snaps = snapshots(SYSCALLS)
    recorder = RunRecorder(limit_bytes=4000, segments=2)  # a segment holds ~2 snapshots
    try:
        for snap in snaps * 3:
            recorder.record(snap)
        saved = tmp_path / "run.jsonl"
        count = recorder.save(str(saved))
        assert recorder.snapshots == 18 and count == recorder.kept and 0 < count < 18
        assert count + recorder.dropped == 18
        written = snapshots(saved)
        assert len(written) == count
        assert [s.seq for s in written] == [s.seq for s in (snaps * 3)[-count:]]
    finally:
        recorder.close()
    assert not Path(recorder.directory).exists()


def test_clicking_a_header_sorts_by_it_and_clicking_a_row_selects_it():
    async def scenario():
        app = TopApp(ReplaySource(str(SYSCALLS), speed=0), record=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.stream_done)
            header = app.query_one("AggTable").render_line(0).text
            await pilot.click("AggTable", offset=(header.index("rate/s") + 2, 0))
            assert app.sort_title == "rate/s"
            assert [k[0] for k in table_keys(app)] == ["nginx", "nginx", "backup", "postgres", "sshd"]
            await pilot.click("AggTable", offset=(header.index("rate/s") + 2, 0))
            assert not app.sort_descending
            await pilot.click("AggTable", offset=(2, 3))  # the third row
            assert app.query_one("AggTable").selected.keys == table_keys(app)[2]

    run(scenario())
