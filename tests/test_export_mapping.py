"""Snapshots -> Prometheus exposition: names, labels, units, buckets, limits.

The exposition is parsed back with prometheus_client's own text parser, so these
tests check what a scraper would read, not our internal state.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import math
import zlib

import pytest
from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot, read_jsonl, write_jsonl
from dtscope.exporters.prometheus import (
    Exposition,
    ScriptCollector,
    ScriptMetrics,
    bucket_upper_bound,
    label_for_key,
    label_names,
    metric_name,
)
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def snap(rows, infos=(), seq=0, drops=None, errors=None):
    return Snapshot(
        time=T0 + dt.timedelta(seconds=seq),
        rows=list(rows),
        seq=seq,
        interval=1.0,
        drops=dict(drops or {}),
        errors=list(errors or []),
        aggregations={i.name: i for i in infos},
    )


def samples(metrics: ScriptMetrics) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value, from the rendered text."""
    text = Exposition([metrics], process_metrics=False).render().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def types(metrics: ScriptMetrics) -> dict[str, str]:
    text = Exposition([metrics], process_metrics=False).render().decode()
    return {f.name: f.type for f in text_string_to_metric_families(text)}


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "expression, label",
    [
        ("zonename", "zone"),
        ("execname", "execname"),
        ("pid", "pid"),
        ("probefunc", "function"),
        ("probename", "probe"),
        ("stack()", "stack"),
        ("ustack(20)", "ustack"),
        ("self->fd", "fd"),
        ("this->size", "size"),
        ("args[0]", "arg0"),
        ("arg1", "arg1"),
        ("copyinstr(arg0)", "copyinstr_arg0"),
        ("curpsinfo->pr_psargs", "psargs"),
        ("le", "key_le"),
        ("instance", "key_instance"),
        ("__x", "x"),
        ("9lives", "_9lives"),
        ("", "key3"),
        (None, "key3"),
    ],
)
def test_label_for_key(expression, label):
    assert label_for_key(expression, 3) == label


def test_repeated_labels_are_made_unique():
    assert label_names(["pid", "pid", "execname"], 3) == ["pid", "pid_1", "execname"]
    assert label_names([], 2) == ["key0", "key1"]


@pytest.mark.parametrize(
    "script, agg, function, unit, name",
    [
        ("syscall-latency", "lat", "quantize", "ns", "dtscope_syscall_latency_lat_seconds"),
        ("io", "bytes", "sum", "bytes", "dtscope_io_bytes"),
        ("io", "size", "sum", "bytes", "dtscope_io_size_bytes"),
        ("x", "calls_total", "count", None, "dtscope_x_calls"),
        ("x", "", "count", None, "dtscope_x_count"),
        ("x", "t", "avg", "us", "dtscope_x_t_seconds"),
    ],
)
def test_metric_names(script, agg, function, unit, name):
    assert metric_name(script, agg, function, unit) == name


# --------------------------------------------------------------------------- counters


def test_counters_accumulate_across_intervals_with_total_suffix():
    info = AggInfo("calls", "count", ["execname", "pid"])
    m = ScriptMetrics("t")
    m.apply(snap([AggRow("calls", "count", ("bash", 10), 3)], [info], 0))
    m.apply(
        snap(
            [AggRow("calls", "count", ("bash", 10), 4), AggRow("calls", "count", ("sh", 11), 1)],
            [info],
            1,
        )
    )
    m.apply(snap([], [info], 2))  # a quiet interval: counters keep their value
    got = samples(m)
    assert got[("dtscope_t_calls_total", (("execname", "bash"), ("pid", "10")))] == 7
    assert got[("dtscope_t_calls_total", (("execname", "sh"), ("pid", "11")))] == 1
    assert types(m)["dtscope_t_calls"] == "counter"


def test_sum_in_nanoseconds_is_a_counter_in_seconds():
    info = AggInfo("time", "sum", ["zonename"], "ns")
    m = ScriptMetrics("t")
    m.apply(snap([AggRow("time", "sum", ("global",), 1_500_000_000)], [info]))
    m.apply(snap([AggRow("time", "sum", ("global",), 500_000_000)], [info], 1))
    assert samples(m)[("dtscope_t_time_seconds_total", (("zone", "global"),))] == 2.0


def test_count_ignores_the_probe_unit():
    # count() counts events whatever the probe measures: no _seconds on a count.
    info = AggInfo("n", "count", [], "ns")
    m = ScriptMetrics("t")
    m.apply(snap([AggRow("n", "count", (), 5)], [info]))
    assert samples(m)[("dtscope_t_n_total", ())] == 5


def test_units_from_the_script_when_the_snapshot_has_none():
    m = ScriptMetrics("t", units={"b": "bytes"})
    m.apply(snap([AggRow("b", "sum", (), 4096)]))
    assert samples(m)[("dtscope_t_b_bytes_total", ())] == 4096


# --------------------------------------------------------------------------- histograms


def test_bucket_bound_is_the_largest_integer_inside():
    assert bucket_upper_bound(Bucket(4, 8, 1)) == 7  # not 4 (ebpf_exporter #488), not 8
    assert bucket_upper_bound(Bucket(0, 1, 1)) == 0
    assert bucket_upper_bound(Bucket(-4, -2, 1)) == -3
    assert bucket_upper_bound(Bucket(1024, None, 1)) == math.inf
    assert bucket_upper_bound(Bucket(None, 0, 1)) == -1


def test_quantize_histogram_cumulative_buckets_in_seconds():
    info = AggInfo("lat", "quantize", ["zonename"], "ns")
    m = ScriptMetrics("t")
    # 2 values in [1024, 2048) ns and 1 in [4096, 8192) ns
    m.apply(
        snap(
            [
                AggRow(
                    "lat",
                    "quantize",
                    ("global",),
                    3,
                    [Bucket(1024, 2048, 2), Bucket(4096, 8192, 1)],
                )
            ],
            [info],
        )
    )
    # next interval: one more value in [1024, 2048)
    m.apply(snap([AggRow("lat", "quantize", ("global",), 1, [Bucket(1024, 2048, 1)])], [info], 1))
    got = samples(m)
    zone = ("zone", "global")
    bucket = "dtscope_t_lat_seconds_bucket"
    assert got[(bucket, tuple(sorted([("le", "2.047e-06"), zone])))] == 3
    assert got[(bucket, tuple(sorted([("le", "8.191e-06"), zone])))] == 4
    assert got[(bucket, tuple(sorted([("le", "+Inf"), zone])))] == 4
    assert got[("dtscope_t_lat_seconds_count", (zone,))] == 4
    # the sum is estimated from bucket midpoints: (1024+2047)/2 * 3 + (4096+8191)/2 * 1
    assert got[("dtscope_t_lat_seconds_sum", (zone,))] == pytest.approx((1535.5 * 3 + 6143.5) / 1e9)
    assert types(m)["dtscope_t_lat_seconds"] == "histogram"


def test_series_of_one_histogram_share_every_bound():
    # Grafana heat maps and histogram_quantile() want the same le set on every series.
    m = ScriptMetrics("t")
    m.apply(
        snap(
            [
                AggRow("h", "quantize", ("a",), 1, [Bucket(1, 2, 1)]),
                AggRow("h", "quantize", ("b",), 1, [Bucket(8, 16, 1)]),
            ]
        )
    )
    got = samples(m)
    for key, lows in (("a", (1, 1)), ("b", (0, 1))):
        assert got[("dtscope_t_h_bucket", (("key0", key), ("le", "1.0")))] == lows[0]
        assert got[("dtscope_t_h_bucket", (("key0", key), ("le", "15.0")))] == lows[1]


def test_lquantize_open_ends_and_negative_values():
    m = ScriptMetrics("t")
    buckets = [Bucket(None, -10, 2), Bucket(-10, 0, 1), Bucket(0, 10, 4), Bucket(100, None, 3)]
    m.apply(snap([AggRow("l", "lquantize", (), 10, buckets)]))
    got = samples(m)
    assert got[("dtscope_t_l_bucket", (("le", "-11.0"),))] == 2
    assert got[("dtscope_t_l_bucket", (("le", "-1.0"),))] == 3
    assert got[("dtscope_t_l_bucket", (("le", "9.0"),))] == 7
    assert got[("dtscope_t_l_bucket", (("le", "+Inf"),))] == 10
    # With negative buckets _sum could go down, so (as OpenMetrics says) neither _sum nor
    # _count is exposed; the +Inf bucket still holds the count.
    assert ("dtscope_t_l_count", ()) not in got
    m.apply(snap([AggRow("p", "lquantize", (), 3, [Bucket(0, 10, 2), Bucket(10, 20, 1)])], seq=1))
    got = samples(m)
    assert got[("dtscope_t_p_count", ())] == 3
    assert got[("dtscope_t_p_sum", ())] == 2 * 4.5 + 14.5


# --------------------------------------------------------------------------- gauges


def test_gauges_hold_the_last_interval_only():
    m = ScriptMetrics("t")
    m.apply(snap([AggRow("a", "avg", ("x",), 10), AggRow("a", "avg", ("y",), 20)]))
    m.apply(snap([AggRow("a", "avg", ("x",), 30)], seq=1))
    got = samples(m)
    assert got[("dtscope_t_a", (("key0", "x"),))] == 30
    assert ("dtscope_t_a", (("key0", "y"),)) not in got
    assert types(m)["dtscope_t_a"] == "gauge"
    for function in ("min", "max", "stddev"):
        m.apply(snap([AggRow(function, function, (), 7)], seq=2))
        assert samples(m)[(f"dtscope_t_{function}", ())] == 7


# --------------------------------------------------------------------------- labels, limits


def test_label_values_are_escaped_and_read_back_exactly():
    nasty = 'a"b\\c\nd'
    m = ScriptMetrics("t")
    m.apply(
        snap(
            [AggRow("n", "count", (nasty, "zone with spaces"), 1)],
            [AggInfo("n", "count", ["execname", "zonename"])],
        )
    )
    assert (
        samples(m)[("dtscope_t_n_total", (("execname", nasty), ("zone", "zone with spaces")))] == 1
    )


def test_series_limit_drops_new_series_and_counts_them():
    m = ScriptMetrics("t", series_limit=3)
    m.apply(snap([AggRow("n", "count", (pid,), 1) for pid in range(5)]))
    m.apply(snap([AggRow("n", "count", (0,), 1), AggRow("n", "count", (99,), 1)], seq=1))
    got = samples(m)
    series = {k for k in got if k[0] == "dtscope_t_n_total"}
    assert series == {("dtscope_t_n_total", (("key0", str(p)),)) for p in range(3)}
    assert got[("dtscope_t_n_total", (("key0", "0"),))] == 2  # known series still counts
    assert got[("dtscope_series_dropped_total", (("metric", "dtscope_t_n"), ("script", "t")))] == 3


def test_health_metrics():
    m = ScriptMetrics("t")
    m.apply(snap([], drops={"aggregation": 2, "dynamic": 1}, errors=["oops"]))
    m.apply(snap([], drops={"aggregation": 3}, seq=1))
    m.set_up(True)
    m.note_restart("died")
    got = samples(m)
    assert got[("dtscope_up", (("script", "t"),))] == 1
    assert got[("dtscope_tracer_restarts_total", (("script", "t"),))] == 1
    assert got[("dtscope_drops_total", (("kind", "aggregation"), ("script", "t")))] == 5
    assert got[("dtscope_drops_total", (("kind", "dynamic"), ("script", "t")))] == 1
    assert got[("dtscope_tracer_errors_total", (("script", "t"),))] == 1
    assert got[("dtscope_snapshots_total", (("script", "t"),))] == 2
    assert 0 <= got[("dtscope_snapshot_age_seconds", (("script", "t"),))] < 5


def test_process_metrics_are_served():
    text = Exposition([ScriptMetrics("t")]).render().decode()
    assert "process_resident_memory_bytes" in text
    assert "process_cpu_seconds_total" in text


def test_portable_process_metrics_where_proc_is_not_linux():
    from dtscope.exporters.prometheus import PortableProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortableProcessCollector(start_time=1234.5))
    got = {
        s.name: s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert got["process_cpu_seconds_total"] > 0
    assert got["process_start_time_seconds"] == 1234.5
    assert got["process_open_fds"] >= 3
    assert got["process_max_resident_memory_bytes"] > 1024 * 1024


def test_a_replayed_jsonl_run_maps_like_the_live_stream():
    info = AggInfo("lat", "quantize", ["execname"], "ns")
    live = [
        snap([AggRow("lat", "quantize", ("cat",), 2, [Bucket(2, 4, 2)])], [info], 0),
        snap([AggRow("lat", "quantize", ("cat",), 1, [Bucket(4, 8, 1)])], [info], 1),
    ]
    buffer = io.StringIO()
    write_jsonl(live, buffer)
    replayed = list(read_jsonl(buffer.getvalue().splitlines()))
    a, b = ScriptMetrics("t"), ScriptMetrics("t")
    for s in live:
        a.apply(s)
    for s in replayed:
        b.apply(s)
    age = ("dtscope_snapshot_age_seconds", (("script", "t"),))
    assert samples(a).keys() == samples(b).keys()
    assert {k: v for k, v in samples(a).items() if k != age} == {
        k: v for k, v in samples(b).items() if k != age
    }
    assert samples(b)[("dtscope_t_lat_seconds_count", (("execname", "cat"),))] == 3


def test_rendering_is_cached_until_a_snapshot_arrives():
    m = ScriptMetrics("t")
    exposition = Exposition([m], process_metrics=False)
    m.apply(snap([AggRow("n", "count", (), 1)]))
    first = exposition.data(m)[1]
    assert exposition.data(m)[1] is first
    m.apply(snap([AggRow("n", "count", (), 1)], seq=1))
    assert exposition.data(m)[1] is not first
    assert b"dtscope_t_n_total 2.0" in exposition.data(m)[1]


def test_compressed_exposition_is_one_gzip_member_with_everything():
    m = ScriptMetrics("t")
    m.apply(snap([AggRow("n", "count", ("x",), 3)]))
    exposition = Exposition([m, ScriptMetrics("u")])
    for _ in range(2):  # the second time from the cached prefix
        body = exposition.render(compressed=True)
        # one member: a reader that stops after the first member (curl) sees it all
        reader = zlib.decompressobj(wbits=31)
        text = reader.decompress(body)
        assert reader.eof and reader.unused_data == b""
        assert text == gzip.decompress(body)
        assert b'dtscope_t_n_total{key0="x"} 3.0' in text
        assert b'dtscope_up{script="u"}' in text
        assert text.count(b"# TYPE dtscope_up gauge") == 1
        assert text.startswith(exposition.render()[:200])
    m.apply(snap([AggRow("n", "count", ("x",), 1)], seq=1))
    exposition.refresh(m)
    assert b'dtscope_t_n_total{key0="x"} 4.0' in gzip.decompress(exposition.render(compressed=True))


def test_fast_text_is_byte_identical_to_the_client_library():
    """render_text() is an optimisation of generate_latest(ScriptCollector): same bytes."""
    m = ScriptMetrics("t", units={"sz": "bytes"})
    infos = [
        AggInfo("lat", "quantize", ["zonename", "probefunc"], "ns"),
        AggInfo("calls", "count", ["execname", "pid"]),
        AggInfo("neg", "lquantize", ["le"]),
        AggInfo("sz", "sum", ["self->fd"]),
    ]
    for seq in range(3):
        m.apply(
            snap(
                [
                    AggRow(
                        "lat",
                        "quantize",
                        ("global", "read"),
                        3,
                        [Bucket(1024, 2048, 2), Bucket(1 << (20 + seq), 2 << (20 + seq), 1)],
                    ),
                    AggRow("lat", "quantize", ('z"1', "write"), 1, [Bucket(0, 1, 1)]),
                    AggRow("calls", "count", ('we"ird\\x\nnl', 12), 5),
                    AggRow("calls", "count", ("bash", 10 + seq), 1),
                    AggRow("neg", "lquantize", ("a",), 3, [Bucket(None, -5, 1), Bucket(0, 5, 2)]),
                    AggRow("sz", "sum", (3,), 123456789012),
                    AggRow("", "avg", (), 2.5),
                    AggRow("mx", "max", ("k",), -7),
                ],
                infos,
                seq,
            )
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScriptCollector(m))
    assert m.render_text().encode() == generate_latest(registry)
