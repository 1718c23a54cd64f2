"""A real Prometheus scrapes the exporter running a real bpftrace program.

The workload is a child process that makes exactly N ``getppid`` calls and M writes
of 100 bytes when told to; Prometheus' HTTP API must return exactly those numbers for
its pid. Midway the tracer is killed: ``dtscope_up`` drops to 0, the supervisor brings
it back, and the counters carry on from where they were (no reset).

The bpftrace program is written by hand and run by the real bpftrace backend, so this
test does not depend on the D lowering; the command-line test at the end does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from dtscope.collectors.base import RunOptions
from dtscope.collectors.bpftrace import BpftraceBackend, prepare_text
from dtscope.dscript.bpftrace.maps import MapInfo
from dtscope.exporters.http import ExporterServer
from dtscope.exporters.prometheus import Exposition, ScriptMetrics
from dtscope.exporters.supervisor import Supervisor

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

PROGRAM = """
tracepoint:syscalls:sys_enter_getppid { @calls[pid] = count(); }
tracepoint:syscalls:sys_enter_write /comm == "dtscope-wl"/ { @wsize[pid] = hist(args->count); }
interval:ms:500 {
  print(@calls); print(@wsize); clear(@calls); clear(@wsize);
  printf("__dtscope_snapshot__\\n");
}
"""

MAPS = {
    "@calls": MapInfo("@calls", "calls", "count", key_kinds=["int"], key_names=["pid"]),
    "@wsize": MapInfo("@wsize", "wsize", "quantize", key_kinds=["int"], key_names=["pid"]),
}

# Waits for "go N M" lines; for each: N getppid calls, M writes of 100 bytes, then "done".
WORKLOAD = r"""
import os, sys, ctypes
libc = ctypes.CDLL(None)
libc.prctl(15, b"dtscope-wl", 0, 0, 0)  # PR_SET_NAME: the write probe filters on it
null = os.open("/dev/null", os.O_WRONLY)
block = b"x" * 100
for line in sys.stdin:
    _, n, m = line.split()
    for _ in range(int(n)):
        os.getppid()
    for _ in range(int(m)):
        os.write(null, block)
    sys.stdout.write("done\n"); sys.stdout.flush()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class PrometheusServer:
    """Debian's prometheus on loopback with a temp config and a 1 s scrape interval."""

    @staticmethod
    def plain_config(target: str) -> str:
        return (
            "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: dtscope\n    static_configs: [{{targets: ['{target}']}}]\n"
        )

    def __init__(self, tmp_path, config_text: str):
        self.port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(config_text)
        self.log = open(tmp_path / "prometheus.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, 30, "prometheus to be ready", 0.2)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[tuple[dict, float]]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return [(item["metric"], float(item["value"][1])) for item in body["data"]["result"]]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return result[0][1] if len(result) == 1 else None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def require_prometheus() -> None:
    if os.path.exists(PROMETHEUS):
        return
    message = "prometheus is not installed (apt-get install prometheus)"
    if os.environ.get("DTSCOPE_REQUIRE_TRACING") == "1":
        pytest.fail(message)
    pytest.skip(message)


def my_bpftrace_children() -> list[int]:
    """bpftrace processes whose parent is this test process (never anyone else's)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.find(b"(") + 1 : stat.rfind(b")")]
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        if ppid == os.getpid() and comm == b"bpftrace":
            found.append(int(entry))
    return found


@pytest.mark.tracing
def test_prometheus_scrapes_exact_counts_and_survives_a_tracer_kill(tmp_path):
    require_prometheus()
    metrics = ScriptMetrics("wl", units={"wsize": "bytes"})
    exposition = Exposition([metrics])

    def source():
        backend = BpftraceBackend()
        options = RunOptions(interval=0.5, on_output=lambda line: None)
        return backend.stream(prepare_text(PROGRAM, MAPS, "wl"), options)

    # A long first backoff keeps dtscope_up at 0 for a few scrapes after the kill.
    supervisor = Supervisor(
        metrics,
        source,
        on_snapshot=exposition.refresh,
        backoff_initial=3.0,
        log=lambda message: None,
    )
    server = ExporterServer(exposition, ("127.0.0.1", 0)).start()
    supervisor.start()
    prometheus = PrometheusServer(
        tmp_path, PrometheusServer.plain_config(f"127.0.0.1:{server.port}")
    )
    workload = subprocess.Popen(
        [sys.executable, "-c", WORKLOAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    pid = str(workload.pid)
    calls = f'dtscope_wl_calls_total{{pid="{pid}"}}'

    def burst(n: int, m: int) -> None:
        # Start right after a snapshot so that the burst (a few ms) is well inside one
        # interval, away from the print/clear at its end.
        wait_for(lambda: metrics.up, 30, "the tracer to run")
        seen = metrics.snapshots
        wait_for(lambda: metrics.snapshots > seen, 5, "a snapshot", 0.005)
        workload.stdin.write(f"go {n} {m}\n")
        workload.stdin.flush()
        assert workload.stdout.readline() == "done\n"

    try:
        burst(5000, 300)
        assert wait_for(lambda: prometheus.value(calls) == 5000, 20, f"{calls} == 5000")

        tracers = my_bpftrace_children()
        assert len(tracers) == 1, tracers
        os.kill(tracers[0], signal.SIGKILL)
        wait_for(lambda: not metrics.up, 5, "dtscope_up to drop")
        wait_for(
            lambda: prometheus.value('dtscope_up{script="wl"}') == 0,
            10,
            "Prometheus to see up == 0",
        )
        # the last values keep being served while the tracer is down
        assert prometheus.value(calls) == 5000

        burst(2500, 200)
        assert wait_for(lambda: prometheus.value(calls) == 7500, 20, f"{calls} == 7500")
        wait_for(
            lambda: prometheus.value('dtscope_up{script="wl"}') == 1,
            10,
            "Prometheus to see up == 1",
        )

        assert prometheus.value(f"resets({calls}[5m])") == 0
        assert prometheus.value('min_over_time(dtscope_up{script="wl"}[5m])') == 0
        assert prometheus.value('dtscope_tracer_restarts_total{script="wl"}') == 1
        # 100-byte writes fall in the quantize bucket [64, 128), whose le is 127 (not 64 or
        # 128); the two "done\n" replies (5 bytes) in [4, 8), whose le is 7.
        sizes = f'dtscope_wl_wsize_bytes_bucket{{pid="{pid}"'
        assert prometheus.value(f'{sizes},le="7.0"}}') == 2
        assert prometheus.value(f'{sizes},le="127.0"}}') == 502
        assert prometheus.value(f'{sizes},le="+Inf"}}') == 502
        assert prometheus.value(f'dtscope_wl_wsize_bytes_count{{pid="{pid}"}}') == 502
        assert prometheus.value('process_resident_memory_bytes{job="dtscope"}') > 0
    finally:
        workload.stdin.close()
        workload.wait(timeout=10)
        supervisor.stop()
        for tracer in my_bpftrace_children():
            os.kill(tracer, signal.SIGTERM)
        supervisor.join(timeout=15)
        server.shutdown()
        prometheus.stop()


def scrape_value(port: int, sample: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def children_of(pid: int) -> list[tuple[int, bytes]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                found.append((int(entry), stat[stat.find(b"(") + 1 : stat.rfind(b")")]))
    return found


@pytest.mark.tracing
def test_dtscope_export_command_counts_a_d_script_exactly_and_stops_on_sigterm(tmp_path):
    pytest.importorskip("dtscope.dscript.bpftrace")
    script = tmp_path / "calls.d"
    script.write_text("syscall::getppid:entry\n{\n  @calls[pid] = count();\n}\n")
    port = free_port()
    exporter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dtscope",
            "export",
            str(script),
            "--listen",
            f"127.0.0.1:{port}",
            "--interval",
            "500ms",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workload = subprocess.Popen(
        [sys.executable, "-c", WORKLOAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        wait_for(
            lambda: scrape_value(port, 'dtscope_up{script="calls"}') == 1, 30, "the tracer to run"
        )
        snapshots = 'dtscope_snapshots_total{script="calls"}'
        # The child's own start-up made a few getppid calls: count from a baseline taken
        # once those are in, and start the burst right after a snapshot.
        wait_for(lambda: scrape_value(port, snapshots), 10, "a snapshot")
        first = scrape_value(port, snapshots)
        wait_for(lambda: scrape_value(port, snapshots) >= first + 2, 10, "two more snapshots", 0.01)
        sample = f'dtscope_calls_calls_total{{pid="{workload.pid}"}}'
        baseline = scrape_value(port, sample) or 0
        seen = scrape_value(port, snapshots)
        wait_for(lambda: scrape_value(port, snapshots) > seen, 10, "a snapshot", 0.005)
        workload.stdin.write("go 4321 0\n")
        workload.stdin.flush()
        assert workload.stdout.readline() == "done\n"
        wait_for(lambda: scrape_value(port, sample) == baseline + 4321, 10, f"{sample} == +4321")
        time.sleep(1.5)  # and it stays there
        assert scrape_value(port, sample) == baseline + 4321

        tracers = [pid for pid, comm in children_of(exporter.pid) if comm == b"bpftrace"]
        assert len(tracers) == 1
        stopping = time.monotonic()
        exporter.send_signal(signal.SIGTERM)
        assert exporter.wait(timeout=20) == 0
        assert time.monotonic() - stopping < 10
        # the tracer was ended and reaped with the exporter, not left behind
        wait_for(lambda: not os.path.exists(f"/proc/{tracers[0]}"), 5, "the tracer to be gone")
    finally:
        workload.stdin.close()
        workload.wait(timeout=10)
        if exporter.poll() is None:
            exporter.kill()
            exporter.wait()
        _, err = exporter.communicate()
    assert "Traceback" not in err, err


def make_certificates(directory) -> None:
    """A CA and a server certificate for 127.0.0.1, made with openssl."""

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=dtscope test CA",
    )
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=dtscope test")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    )


def test_prometheus_scrapes_over_tls_with_basic_auth(tmp_path):
    """Prometheus with the right password gets the data over TLS; with a wrong one, nothing."""
    import datetime as dt

    import bcrypt
    from dtscope.collectors.model import AggInfo, AggRow, Snapshot
    from dtscope.exporters.webconfig import load_web_config

    require_prometheus()
    make_certificates(tmp_path)
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    (tmp_path / "web.yml").write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    metrics = ScriptMetrics("secure")
    metrics.apply(
        Snapshot(
            time=dt.datetime.now(dt.UTC),
            interval=1.0,
            rows=[AggRow("calls", "count", ("global",), 42)],
            aggregations={"calls": AggInfo("calls", "count", ["zonename"])},
        )
    )
    server = ExporterServer(
        Exposition([metrics]), ("127.0.0.1", 0), load_web_config(str(tmp_path / "web.yml"))
    ).start()
    target = f"127.0.0.1:{server.port}"
    job = (
        "  - job_name: {name}\n    scheme: https\n    tls_config: {{ca_file: {ca}}}\n"
        "    basic_auth: {{username: prometheus, password: {password}}}\n"
        "    static_configs: [{{targets: ['{target}']}}]\n"
    )
    config = (
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
        + job.format(name="good", ca=tmp_path / "ca.crt", password="s3cret", target=target)
        + job.format(name="bad", ca=tmp_path / "ca.crt", password="wrong", target=target)
    )
    try:
        prometheus = PrometheusServer(tmp_path, config)
    except BaseException:
        server.shutdown()
        raise
    try:
        wait_for(lambda: prometheus.value('up{job="good"}') == 1, 20, "the good job to scrape")
        wait_for(lambda: prometheus.value('up{job="bad"}') == 0, 20, "the bad job to fail")
        assert prometheus.value('dtscope_secure_calls_total{job="good",zone="global"}') == 42
        assert prometheus.query('{job="bad", __name__=~"dtscope_.*"}') == []
    finally:
        prometheus.stop()
        server.shutdown()
