"""The snapshot model on disk: JSONL round trips, the CSV/Parquet writers, atomicity."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os

import pytest
from dtscope.collectors.model import (
    AggInfo,
    AggRow,
    Bucket,
    Snapshot,
    atomic_write,
    key_column_names,
    read_jsonl,
    snapshot_records,
    write_jsonl,
)
from dtscope.collectors.output import open_writer, output_format, write_snapshots

from dtscope.errors import UsageError

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
STACK = "vfs_read+125\nksys_read+102\ndo_syscall_64+113"


def sample_snapshots() -> list[Snapshot]:
    infos = {"lat": AggInfo("lat", "quantize", ["execname"], "ns"), "": AggInfo("", "count")}
    snaps = []
    for seq in range(3):
        snaps.append(
            Snapshot(
                time=T0 + dt.timedelta(seconds=seq),
                seq=seq,
                interval=1.0,
                rows=[
                    AggRow("", "count", ("a,b", 7), 10 + seq),
                    AggRow("", "count", (STACK, -1), 3),
                    AggRow("lat", "quantize", ("dd",), 4,
                           [Bucket(-3, -1, 1), Bucket(0, 1, 1), Bucket(4, 8, 2)]),
                    AggRow("lat", "quantize", ('we"ird\n',), 2, [Bucket(None, 0, 1), Bucket(1024, None, 1)]),
                ],
                drops={"lost_events": seq},
                errors=["boom"] if seq == 1 else [],
                final=seq == 2,
                tracer_state="exited" if seq == 2 else "running",
                aggregations=infos,
            )
        )
    return snaps


def test_jsonl_fields_follow_the_documented_format():
    records = list(snapshot_records(sample_snapshots()[0]))
    row = records[2]
    assert row["time"] == "2026-01-02T03:04:05.678000Z"
    assert row["aggregation"] == "lat" and row["function"] == "quantize"
    assert row["keys"] == ["dd"] and row["value"] == 4
    assert row["buckets"] == [
        {"lo": -3, "hi": -1, "count": 1},
        {"lo": 0, "hi": 1, "count": 1},
        {"lo": 4, "hi": 8, "count": 2},
    ]
    assert records[0]["aggregation"] == "" and "buckets" not in records[0]
    assert records[-1]["type"] == "status" and records[-1]["drops"] == {"lost_events": 0}


def test_jsonl_round_trip_keeps_everything(tmp_path):
    snaps = sample_snapshots()
    path = tmp_path / "run.jsonl"
    assert write_snapshots(str(path), snaps) == 12
    with open(path) as fh:
        back = list(read_jsonl(fh))
    assert len(back) == 3
    for original, loaded in zip(snaps, back):
        assert loaded.rows == original.rows
        assert loaded.time == original.time and loaded.seq == original.seq
        assert loaded.drops == original.drops and loaded.errors == original.errors
        assert loaded.final == original.final and loaded.interval == 1.0
    assert back[0].rows[1].keys == (STACK, -1)
    assert back[0].aggregations["lat"].unit == "ns"


def test_read_jsonl_reports_the_bad_line():
    with pytest.raises(ValueError, match="line 2"):
        list(read_jsonl(['{"time": "2026-01-01T00:00:00Z", "aggregation": "", "function": "count", "keys": [], "value": 1}', "{oops"]))


def test_frames_are_tidy_one_row_per_key():
    frames = sample_snapshots()[0].frames()
    lat = frames["lat"]
    assert list(lat.columns) == ["execname", "function", "value", "buckets"]
    assert list(lat["value"]) == [4, 2]
    anon = frames[""]
    assert list(anon["key0"]) == ["a,b", STACK]


def test_key_column_names_avoid_clashes():
    assert key_column_names(["pid", "pid", "value"], 4) == ["pid", "key1", "key2", "key3"]


def test_csv_keeps_commas_and_stacks(tmp_path):
    path = tmp_path / "run.csv"
    write_snapshots(str(path), sample_snapshots())
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    assert json.loads(rows[0]["keys"]) == ["a,b", 7]
    assert json.loads(rows[1]["keys"]) == [STACK, -1]
    assert json.loads(rows[2]["buckets"])[0] == {"lo": -3, "hi": -1, "count": 1}
    assert rows[0]["value"] == "10" and rows[4]["value"] == "11"


def test_parquet_has_typed_columns(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "run.parquet"
    write_snapshots(str(path), sample_snapshots())
    table = pq.read_table(path).to_pylist()
    assert len(table) == 12
    assert json.loads(table[3]["keys"]) == ['we"ird\n']
    assert table[3]["buckets"] == [{"lo": None, "hi": 0, "count": 1}, {"lo": 1024, "hi": None, "count": 1}]
    assert table[0]["time"] == T0 and table[4]["snapshot"] == 1


@pytest.mark.parametrize("name", ["x.txt", "x", "x.json", "x.jsonl.gz"])
def test_unknown_extensions_are_usage_errors(name):
    with pytest.raises(UsageError, match=r"\.jsonl, \.csv or \.parquet"):
        output_format(name)


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("old\n")

    def snapshots():
        yield sample_snapshots()[0]
        raise RuntimeError("tracer died")

    with pytest.raises(RuntimeError):
        write_snapshots(str(path), snapshots())
    assert path.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["run.jsonl"]  # no temporary left behind


def test_the_file_appears_only_when_closed(tmp_path):
    path = tmp_path / "run.jsonl"
    writer = open_writer(str(path))
    writer.write(sample_snapshots()[0])
    assert not path.exists()
    writer.close()
    assert path.exists() and len(path.read_text().splitlines()) == 5


def test_atomic_write_and_write_jsonl(tmp_path):
    path = tmp_path / "a.jsonl"
    atomic_write(str(path), lambda fh: write_jsonl(sample_snapshots()[:1], fh))
    assert len(path.read_text().splitlines()) == 5
