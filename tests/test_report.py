"""dtscope report: heat map matrices, rates and top keys from known runs; the HTML and PNG."""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot, read_jsonl, write_jsonl
from dtscope.exporters import report

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _hist(name: str, keys: tuple, counts: dict[tuple, int]) -> AggRow:
    buckets = [Bucket(lo, hi, c) for (lo, hi), c in counts.items()]
    return AggRow(name, "quantize", keys, sum(counts.values()), buckets)


def interval_run() -> list[Snapshot]:
    """Three 2-second intervals of a latency histogram keyed by process, and a count."""
    info = {"lat": AggInfo("lat", "quantize", ["execname"], unit="ns"),
            "calls": AggInfo("calls", "count", ["execname"])}
    rows = [
        [_hist("lat", ("web",), {(1024, 2048): 5, (2048, 4096): 1}),
         _hist("lat", ("db",), {(1024, 2048): 2}),
         AggRow("calls", "count", ("web",), 6), AggRow("calls", "count", ("db",), 2)],
        [_hist("lat", ("web",), {(2048, 4096): 7}),
         _hist("lat", ("db",), {(None, 0): 1, (65536, 131072): 3}),
         AggRow("calls", "count", ("web",), 7), AggRow("calls", "count", ("db",), 4)],
        [AggRow("calls", "count", ("web",), 10)],
    ]
    return [Snapshot(time=T0 + dt.timedelta(seconds=2 * (i + 1)), rows=r, seq=i, interval=2.0,
                     aggregations=info) for i, r in enumerate(rows)]


def through_jsonl(snapshots: list[Snapshot]) -> list[Snapshot]:
    out = io.StringIO()
    write_jsonl(snapshots, out)
    return list(read_jsonl(out.getvalue().splitlines()))


def test_heatmap_matrix_of_a_known_run() -> None:
    hm = report.heatmap(through_jsonl(interval_run()), "lat")
    assert hm.buckets == [(None, 0), (1024, 2048), (2048, 4096), (65536, 131072)]
    assert hm.counts == [
        [0, 1, 0],
        [7, 0, 0],
        [1, 7, 0],
        [0, 3, 0],
    ]
    assert hm.times == [T0 + dt.timedelta(seconds=s) for s in (2, 4, 6)]
    assert hm.unit == "ns"


def test_cumulative_run_is_differenced() -> None:
    """Snapshots without an interval hold totals so far: columns are the differences."""
    info = {"lat": AggInfo("lat", "quantize", [], unit="ns")}
    totals = [{(8, 16): 2}, {(8, 16): 5, (16, 32): 1}, {(8, 16): 5, (16, 32): 4}]
    snaps = [Snapshot(time=T0 + dt.timedelta(seconds=i + 1), rows=[_hist("lat", (), t)], seq=i,
                      aggregations=info) for i, t in enumerate(totals)]
    hm = report.heatmap(through_jsonl(snaps), "lat")
    assert hm.counts == [[2, 3, 0], [0, 1, 3]]
    series = report.rates(snaps, "lat")
    assert series.per_second == {(): [None, 4.0, 3.0]}  # the first interval's length is unknown


def test_rates_and_top_keys_of_a_known_run() -> None:
    snaps = through_jsonl(interval_run())
    series = report.rates(snaps, "calls", limit=1)
    assert series.per_second == {("web",): [3.0, 3.5, 5.0]}
    series = report.rates(snaps, "calls")
    assert series.per_second == {("web",): [3.0, 3.5, 5.0], ("db",): [1.0, 2.0, 0.0]}
    top = [(t.aggregation, t.keys, t.total, round(t.share, 4)) for t in report.top_keys(snaps)]
    assert top == [
        ("lat", ("web",), 13, round(13 / 19, 4)), ("lat", ("db",), 6, round(6 / 19, 4)),
        ("calls", ("web",), 23, round(23 / 29, 4)), ("calls", ("db",), 6, round(6 / 29, 4)),
    ]


def test_labels() -> None:
    assert report.bucket_label((1024, 2048), "ns") == "1.02us"
    assert report.bucket_label((None, 0), "ns") == "< 0"
    assert report.bucket_label((1 << 20, None), "bytes") == ">= 1MiB"
    assert report.key_label(("web", "leaf\nmain")) == "web, leaf ..."


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.references: list[str] = []
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"])
        for name in ("href", "src"):
            if name in values and not values[name].startswith("data:"):
                self.references.append(values[name])
        self._in_td = tag == "td"

    def handle_endtag(self, tag):
        self._in_td = False

    def handle_data(self, data):
        if self._in_td:
            self.cells.append(data)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    """The known run's HTML report, written by the command line."""
    work = tmp_path_factory.mktemp("report")
    run = work / "run.jsonl"
    with open(run, "w") as fh:
        write_jsonl(interval_run(), fh)
    page = work / "r.html"
    proc = subprocess.run([sys.executable, "-m", "dtscope", "report", str(run), "-o", str(page),
                           "--title", "known <run>"], check=False, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return page


def test_html_is_self_contained(report_page: Path) -> None:
    page = report_page.read_text()
    parser = _Page()
    parser.feed(page)
    assert parser.references == []  # nothing outside the file
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "url(" not in page and "@import" not in page
    assert len(parser.images) == 3  # one heat map, two rate plots
    for src in parser.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        png = base64.b64decode(src[len(prefix):], validate=True)
        assert png.startswith(PNG_SIGNATURE)
    assert "<title>known &lt;run&gt;</title>" in page
    assert ["@lat", "quantize", "web", "13", "68.4%"] == parser.cells[:5]


def test_png_report(tmp_path: Path, dtscope_cli) -> None:
    run = tmp_path / "run.jsonl"
    with open(run, "w") as fh:
        write_jsonl(interval_run(), fh)
    rc, _out, err = dtscope_cli("report", str(run), "-o", str(tmp_path / "r.png"))
    assert rc == 0, err
    data = (tmp_path / "r.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1000 and height > 800


def test_html_opens_offline_in_chromium(report_page: Path) -> None:
    from test_flame_browser import DevTools, _chromium

    with tempfile.TemporaryDirectory(prefix="dtscope-chromium.") as profile_dir:
        browser = DevTools(_chromium(), profile_dir)
        try:
            # No network at all: any fetch beyond the file would fail the load.
            browser.open("about:blank")
            browser.send("Network.enable")
            browser.send("Network.emulateNetworkConditions",
                         {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
            browser.open(report_page.as_uri())
            sizes = browser.evaluate(
                "Array.from(document.images).map(function (i) { return [i.complete, i.naturalWidth]; })")
            rows = browser.evaluate("document.querySelectorAll('table tr').length")
        finally:
            browser.close()
    assert len(sizes) == 3 and all(done and width == 1000 for done, width in sizes)
    assert rows == 5  # header + 2 keys of @lat + 2 of @calls


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/missing.jsonl", "-o", "{tmp}/r.html"], "cannot read"),
        (["{bad}", "-o", "{tmp}/r.html"], "not a dtscope run: line 1: not JSON"),
        (["{empty}", "-o", "{tmp}/r.html"], "the run is empty"),
        (["{good}", "-o", "{tmp}/r.pdf"], "cannot tell the output format"),
        (["{good}", "-o", "/nonexistent/dir/r.html"], "cannot write /nonexistent/dir/r.html"),
    ],
)
def test_cli_errors(tmp_path: Path, dtscope_cli, args, message) -> None:
    (tmp_path / "bad.jsonl").write_text("this is not json\n")
    (tmp_path / "empty.jsonl").write_text("")
    with open(tmp_path / "good.jsonl", "w") as fh:
        write_jsonl(interval_run(), fh)
    values = {"tmp": str(tmp_path), "bad": str(tmp_path / "bad.jsonl"), "empty": str(tmp_path / "empty.jsonl"),
              "good": str(tmp_path / "good.jsonl")}
    rc, _out, err = dtscope_cli("report", *[a.format(**values) for a in args])
    assert rc in (1, 2) and message in err and "Traceback" not in err


WORKLOAD = textwrap.dedent("""
    import os, time
    # getpriority(PRIO_PROCESS, who) with chosen `who` values: 100 x 5, 200 x 100, 300 x 5000
    # per round; unknown pids fail with ESRCH, but the syscall is made.
    for _ in range(3):
        for who, times in ((5, 100), (100, 200), (5000, 300)):
            for _ in range(times):
                try:
                    os.getpriority(os.PRIO_PROCESS, who)
                except OSError:
                    pass
        time.sleep(0.4)
""")


@pytest.mark.tracing
def test_report_of_a_real_run(tmp_path: Path, dtscope_cli) -> None:
    script = tmp_path / "who.d"
    script.write_text("syscall::getpriority:entry /pid == $target/ "
                      "{ @who = quantize(arg1); @calls[execname] = count(); }\n")
    workload = tmp_path / "workload.py"
    workload.write_text(WORKLOAD)
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or os.path.realpath(sys.executable)
    run = tmp_path / "run.jsonl"
    rc, _out, err = dtscope_cli("run", str(script), "-c", f"{python} {workload}", "--interval", "500ms",
                               "-o", str(run))
    assert rc == 0, err
    snaps = list(read_jsonl(run.read_text().splitlines()))
    hm = report.heatmap(snaps, "who")
    totals = {b: sum(row) for b, row in zip(hm.buckets, hm.counts) if sum(row)}
    assert totals == {(4, 8): 300, (64, 128): 600, (4096, 8192): 900}
    assert len(hm.times) >= 2  # the calls spread over several intervals
    series = report.rates(snaps, "calls")
    (key,) = series.per_second
    seconds = [s.interval for s in snaps]
    assert round(sum(r * s for r, s in zip(series.per_second[key], seconds))) == 1800
    rc, _out, err = dtscope_cli("report", str(run), "-o", str(tmp_path / "r.html"))
    assert rc == 0, err
    assert re.search(r"<td>@who</td><td>quantize</td><td>\(no key\)</td><td class=\"n\">1,800</td>",
                     (tmp_path / "r.html").read_text())
