"""Replay: a saved JSONL run plays back as a snapshot stream with its timing."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from dtscope.collectors.base import RunOptions
from dtscope.collectors.model import AggRow, Bucket, Snapshot
from dtscope.collectors.output import write_snapshots
from dtscope.collectors.replay import ReplayBackend, parse_speed
from dtscope.collectors.session import choose_backend, run_stream

from dtscope.errors import UsageError, UserError
from dtscope.scripts import LoadedScript

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def saved_run(path, count=4, step=0.2):
    snaps = [
        Snapshot(
            time=T0 + dt.timedelta(seconds=i * step),
            seq=i,
            interval=step,
            rows=[
                AggRow("calls", "count", ("getppid", 100 + i), 5 * i),
                AggRow("lat", "quantize", (), 3, [Bucket(0, 1, 1), Bucket(8, 16, 2)]),
            ],
        )
        for i in range(count)
    ]
    write_snapshots(str(path), snaps)
    return snaps


def replay(path, **options):
    script = LoadedScript(name="run", path=str(path), kind="replay")
    return run_stream(script, "auto", RunOptions(**options))


def test_replay_yields_the_saved_snapshots_and_marks_the_last_final(tmp_path):
    path = tmp_path / "run.jsonl"
    saved = saved_run(path)
    back = list(replay(path, tracer_options={"speed": "max"}))
    assert [s.seq for s in back] == [0, 1, 2, 3]
    assert [s.rows for s in back] == [s.rows for s in saved]
    assert [s.final for s in back] == [False, False, False, True]
    assert back[0].aggregations["lat"].function == "quantize"


def test_replay_keeps_the_original_timing(tmp_path):
    path = tmp_path / "run.jsonl"
    saved_run(path, count=4, step=0.2)
    started = time.monotonic()
    arrivals = []
    for _ in replay(path):
        arrivals.append(time.monotonic() - started)
    assert arrivals[-1] == pytest.approx(0.6, abs=0.15)
    assert arrivals[1] - arrivals[0] == pytest.approx(0.2, abs=0.1)


def test_speed_scales_the_waits(tmp_path):
    path = tmp_path / "run.jsonl"
    saved_run(path, count=5, step=10.0)  # 40 s of recorded time
    waits: list[float] = []
    backend = ReplayBackend(sleep=waits.append)
    prepared = backend.prepare(str(path), RunOptions())
    list(backend.stream(prepared, RunOptions(tracer_options={"speed": "4"})))
    assert len(waits) == 4
    assert all(w == pytest.approx(2.5 * (i + 1), abs=0.05) for i, w in enumerate(waits))


def test_duration_cuts_the_replay(tmp_path):
    path = tmp_path / "run.jsonl"
    saved_run(path, count=10, step=1.0)
    back = list(replay(path, duration=3.5, tracer_options={"speed": "max"}))
    assert [s.seq for s in back] == [0, 1, 2, 3]


@pytest.mark.parametrize("text,expected", [("1", 1.0), ("2x", 2.0), ("0.5", 0.5), ("max", 0.0), (None, 1.0)])
def test_parse_speed(text, expected):
    assert parse_speed(text) == expected


@pytest.mark.parametrize("text", ["fast", "-1", "nan"])
def test_bad_speed(text):
    with pytest.raises(UsageError):
        parse_speed(text)


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"time": "2026-01-01T00:00:00Z", "aggregation": "", "function": "count", "keys": [], "value": 1}\nnot json\n')
    with pytest.raises(UserError, match=r"bad.jsonl: line 2: not JSON"):
        list(replay(path, tracer_options={"speed": "max"}))


def test_auto_picks_replay_for_a_saved_run_and_refuses_other_backends(tmp_path):
    script = LoadedScript(name="run", path=str(tmp_path / "x.jsonl"), kind="replay")
    assert choose_backend(script, "auto") == "replay"
    with pytest.raises(UsageError):
        choose_backend(script, "bpftrace")
    d_script = LoadedScript(name="x", path="x.d", kind="d")
    assert choose_backend(d_script, "auto", system="Linux", which=lambda n: "/usr/bin/" + n) == "bpftrace"
    assert choose_backend(d_script, "auto", system="Linux", which=lambda n: None if n == "bpftrace" else "/x") == "dtrace"
    assert choose_backend(d_script, "auto", system="SunOS") == "dtrace"
    assert choose_backend(d_script, "auto", system="FreeBSD") == "dtrace"
    with pytest.raises(UsageError):
        choose_backend(d_script, "replay")


@pytest.mark.parametrize("extension", [".jsonl", ".csv", ".parquet"])
def test_cli_converts_a_replay_to_every_format(tmp_path, dtscope_cli, extension):
    path = tmp_path / "run.jsonl"
    saved_run(path)
    out = tmp_path / f"copy{extension}"
    code, stdout, stderr = dtscope_cli("run", str(path), "--speed", "max", "-o", str(out))
    assert (code, stderr) == (0, "")
    assert stdout == ""
    if extension == ".jsonl":
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["value"] for r in lines if r.get("aggregation") == "calls"] == [0, 5, 10, 15]
    elif extension == ".csv":
        assert out.read_text().count("\n") == 1 + 8
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(out).num_rows == 8


def test_cli_prints_a_table_without_output(tmp_path, dtscope_cli):
    path = tmp_path / "run.jsonl"
    saved_run(path, count=2)
    code, stdout, stderr = dtscope_cli("run", str(path), "--speed", "max")
    assert code == 0 and stderr == ""
    assert "@calls (count)" in stdout and "getppid  101" in stdout
    assert "Distribution" in stdout and stdout.count("snapshot ") == 2


def test_progress_shows_on_a_terminal_only(tmp_path):
    """With stderr on a terminal a status line is drawn; under cron (no terminal) nothing."""
    import os
    import pty
    import subprocess
    import sys

    path = tmp_path / "run.jsonl"
    saved_run(path, count=6, step=0.3)
    out = tmp_path / "copy.jsonl"
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dtscope", "run", str(path), "-o", str(out)],
            stderr=slave, stdout=subprocess.PIPE, timeout=60, check=False,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    shown = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "dtscope run:" in shown and "snapshots" in shown and "rows" in shown
