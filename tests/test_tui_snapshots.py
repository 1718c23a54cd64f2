"""Screens of `dtscope top` compared with saved SVG snapshots (pytest-textual-snapshot).

The runs are replayed at full speed and each screen is taken once the replay is done,
so every figure on it is fixed. After a deliberate change to the look, review and
refresh them with:

    .venv/bin/python -m pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dtscope.tui.app import TopApp
from dtscope.tui.source import ReplaySource

FIXTURES = Path(__file__).parent / "fixtures" / "tui"


def replay_app(name: str) -> TopApp:
    return TopApp(ReplaySource(str(FIXTURES / name), speed=0), record=False)


async def until_done(pilot) -> None:
    for _ in range(500):
        if pilot.app.stream_done:
            break
        await pilot.pause(0.02)
    # The last status may change the status line's height: let the layout settle.
    for _ in range(3):
        await pilot.pause(0.05)


def test_main_view_80x24(snap_compare):
    assert snap_compare(replay_app("syscalls.jsonl"), terminal_size=(80, 24), run_before=until_done)


def test_second_row_selected_120x40(snap_compare):
    async def select(pilot):
        await until_done(pilot)
        await pilot.press("down")

    assert snap_compare(replay_app("syscalls.jsonl"), terminal_size=(120, 40), run_before=select)


def test_grouped_by_zone_120x40(snap_compare):
    async def group(pilot):
        await until_done(pilot)
        await pilot.press("g", "down", "enter")

    assert snap_compare(replay_app("zones.jsonl"), terminal_size=(120, 40), run_before=group)


def test_count_aggregation_tab(snap_compare):
    async def next_tab(pilot):
        await until_done(pilot)
        await pilot.press("right_square_bracket")

    assert snap_compare(replay_app("zones.jsonl"), terminal_size=(80, 24), run_before=next_tab)


def test_dead_tracer_keeps_its_data(snap_compare):
    assert snap_compare(replay_app("failed.jsonl"), terminal_size=(80, 24), run_before=until_done)


def test_help_screen(snap_compare):
    async def help_(pilot):
        await until_done(pilot)
        await pilot.press("question_mark")

    assert snap_compare(replay_app("syscalls.jsonl"), terminal_size=(80, 24), run_before=help_)


@pytest.mark.parametrize("size", [(80, 24)])
def test_group_chooser(snap_compare, size):
    async def chooser(pilot):
        await until_done(pilot)
        await pilot.press("g")

    assert snap_compare(replay_app("syscalls.jsonl"), terminal_size=size, run_before=chooser)
