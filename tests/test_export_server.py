"""The exporter's HTTP server, web config (TLS, basic auth), supervision and command line.

Snapshots are fed by in-memory sources here: what is under test is the serving and
supervising, not the tracer (test_export_prometheus.py runs the real one).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import http.client
import itertools
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import pytest
from dtscope.collectors.base import TracerNotFound
from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot
from dtscope.exporters.http import ExporterServer, parse_listen
from dtscope.exporters.prometheus import Exposition, ScriptMetrics
from dtscope.exporters.supervisor import Supervisor
from dtscope.exporters.webconfig import WebConfig, load_web_config

from dtscope.errors import UsageError, UserError

REPO = Path(__file__).resolve().parent.parent


def snapshot(seq: int, value: int = 1, state: str = "running") -> Snapshot:
    return Snapshot(
        time=dt.datetime.now(dt.UTC),
        seq=seq,
        interval=1.0,
        rows=[
            AggRow("calls", "count", ("bash",), value),
            AggRow("lat", "quantize", ("bash",), 1, [Bucket(1024, 2048, 1)]),
        ],
        aggregations={
            "calls": AggInfo("calls", "count", ["execname"]),
            "lat": AggInfo("lat", "quantize", ["execname"], "ns"),
        },
        tracer_state=state,
    )


def serve(metrics: ScriptMetrics, web: WebConfig | None = None) -> ExporterServer:
    return ExporterServer(Exposition([metrics]), ("127.0.0.1", 0), web).start()


def get(url: str, headers: dict | None = None, context=None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


# --------------------------------------------------------------------------- HTTP


def test_metrics_index_and_not_found():
    metrics = ScriptMetrics("t")
    metrics.apply(snapshot(0, 5))
    server = serve(metrics)
    try:
        status, headers, body = get(server.url + "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b'dtscope_t_calls_total{execname="bash"} 5.0' in body
        assert b'dtscope_up{script="t"} 0.0' in body
        status, headers, body = get(server.url + "/")
        assert status == 200 and b'href="/metrics"' in body and b"<td>t</td>" in body
        status, _, body = get(server.url + "/nope")
        assert status == 404
        status, headers, body = get(server.url + "/metrics", {"Accept-Encoding": "gzip"})
        assert headers.get("Content-Encoding") == "gzip"
        assert b"dtscope_t_calls_total" in gzip.decompress(body)
    finally:
        server.shutdown()


def test_keep_alive_serves_many_requests_on_one_connection():
    server = serve(ScriptMetrics("t"))
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(20):
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            assert response.status == 200
            assert b"dtscope_up" in response.read()
        connection.request("HEAD", "/metrics")
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b""
        connection.close()
    finally:
        server.shutdown()


def test_binds_loopback_by_default_and_parses_listen():
    assert parse_listen("127.0.0.1:9470") == ("127.0.0.1", 9470)
    assert parse_listen("[::1]:9470") == ("::1", 9470)
    assert parse_listen(":9470") == ("", 9470)
    for bad in ("9470", "host:port", "1.2.3.4:70000"):
        with pytest.raises(UsageError):
            parse_listen(bad)
    from dtscope.exporters.http import DEFAULT_LISTEN

    assert DEFAULT_LISTEN.startswith("127.0.0.1:")


def test_listening_on_a_taken_port_is_a_clear_error():
    first = serve(ScriptMetrics("t"))
    try:
        with pytest.raises(UsageError, match="cannot listen on 127.0.0.1"):
            ExporterServer(Exposition([ScriptMetrics("t")]), ("127.0.0.1", first.port))
    finally:
        first.shutdown()


# --------------------------------------------------------------------------- auth and TLS


def hashed(password: str) -> str:
    # htpasswd writes $2y$; make sure that flavour is accepted too
    return (
        bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$")
    )


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_wrong_credentials_get_401_and_nothing_else(tmp_path):
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  prom: '{hashed('s3cret')}'\n")
    metrics = ScriptMetrics("t")
    metrics.apply(snapshot(0))
    server = serve(metrics, load_web_config(str(config)))
    try:
        attempts = [
            {},
            basic("prom", "wrong"),
            basic("nobody", "s3cret"),
            basic("prom", ""),
            {"Authorization": "Basic !!notbase64"},
            {"Authorization": "Bearer x"},
        ]
        for headers in attempts:
            for path in ("/metrics", "/", "/nope"):
                status, response_headers, body = get(server.url + path, headers)
                assert status == 401, (headers, path)
                assert body == b"Unauthorized\n"
                assert response_headers["WWW-Authenticate"] == 'Basic realm="dtscope"'
        status, _, body = get(server.url + "/metrics", basic("prom", "s3cret"))
        assert status == 200 and b"dtscope_t_calls_total" in body
    finally:
        server.shutdown()


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all real."""
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
        cwd=directory,
    )
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        openssl(
            "req",
            *ec,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN=dtscope test {name}",
            cwd=directory,
        )
        extra = ["-extfile", "server.ext"] if name == "server" else []
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            *extra,
            cwd=directory,
        )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    make_certificates(directory)
    return directory


def client_context(certs: Path, with_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    if with_client_cert:
        context.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
    return context


def test_tls_with_basic_auth(certificates):
    config = certificates / "web-tls.yml"
    config.write_text(
        textwrap.dedent(f"""\
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        http_server_config:
          headers:
            X-Content-Type-Options: nosniff
        basic_auth_users:
          prom: '{hashed("s3cret")}'
        """)
    )
    metrics = ScriptMetrics("t")
    metrics.apply(snapshot(0, 7))
    server = serve(metrics, load_web_config(str(config)))
    try:
        assert server.url.startswith("https://127.0.0.1:")
        context = client_context(certificates)
        status, headers, body = get(server.url + "/metrics", basic("prom", "s3cret"), context)
        assert status == 200 and b'dtscope_t_calls_total{execname="bash"} 7.0' in body
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, _, body = get(server.url + "/metrics", basic("prom", "nope"), context)
        assert status == 401 and body == b"Unauthorized\n"
        # plain HTTP to the TLS port gets no metrics
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            connection.request("GET", "/metrics")
            assert b"dtscope" not in connection.getresponse().read()
        # a client that does not trust our CA refuses the certificate
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(
                server.url + "/metrics", timeout=5, context=ssl.create_default_context()
            )
        # the server still answers after those failures
        status, _, _ = get(server.url + "/metrics", basic("prom", "s3cret"), context)
        assert status == 200
    finally:
        server.shutdown()


def test_tls_client_certificates(certificates):
    config = certificates / "web-mtls.yml"
    config.write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
        "  min_version: TLS12\n"
    )
    server = serve(ScriptMetrics("t"), load_web_config(str(config)))
    try:
        status, _, body = get(server.url + "/metrics", context=client_context(certificates, True))
        assert status == 200 and b"dtscope_up" in body
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            get(server.url + "/metrics", context=client_context(certificates, False))
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "text, message",
    [
        ("tls_server_config:\n  cert_file: server.crt\n", "needs both cert_file and key_file"),
        ("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n", "cannot read"),
        (
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
            "cannot load certificate",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [x]\n",
            "cipher_suites is not supported",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS9\n",
            "min_version: expected one of",
        ),
        ("basic_auth_users:\n  prom: plaintext\n", "'prom' is not a bcrypt hash"),
        ("basic_auth_user:\n  prom: x\n", "unknown setting(s) basic_auth_user"),
        ("- a list\n", "expected a mapping"),
        ("tls_server_config: [\n", "not valid YAML"),
    ],
)
def test_bad_web_configs_are_clear_errors(certificates, text, message):
    config = certificates / "bad.yml"
    config.write_text(text)
    with pytest.raises(UserError) as err:
        load_web_config(str(config))
    assert message in str(err.value)
    assert str(config) in str(err.value)


# --------------------------------------------------------------------------- supervision


def test_a_dying_tracer_is_restarted_and_counters_never_go_back():
    runs = []
    go_on = threading.Event()

    def source():
        runs.append(time.monotonic())
        yield snapshot(0, 2)
        yield snapshot(1, 3)
        if len(runs) == 1:
            go_on.wait(5)  # let the test see up == 1
            raise RuntimeError("tracer killed")

    metrics = ScriptMetrics("t")
    up_seen = []
    supervisor = Supervisor(
        metrics,
        source,
        backoff_initial=0.2,
        log=lambda m: None,
        on_snapshot=lambda m: up_seen.append(m.up),
    )
    supervisor.start()
    try:
        deadline = time.monotonic() + 5
        while metrics.snapshots < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert metrics.up
        go_on.set()
        deadline = time.monotonic() + 5
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(runs) >= 2
        assert runs[1] - runs[0] >= 0.2  # backoff
        deadline = time.monotonic() + 5
        while metrics.snapshots < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        # 2 + 3 from each run: accumulated, not reset by the restart
        assert metrics.metrics["calls"].series[("bash",)] == 10
        assert metrics.restarts >= 1
        assert up_seen[:2] == [True, True]
    finally:
        supervisor.stop()
        supervisor.join(5)
    assert not supervisor.is_alive()


def test_a_tracer_that_exits_is_restarted_with_growing_backoff():
    starts = []
    messages = []

    def source():
        starts.append(time.monotonic())
        return iter([snapshot(len(starts), 1, state="exited")])

    metrics = ScriptMetrics("t")
    supervisor = Supervisor(
        metrics, source, backoff_initial=0.1, backoff_max=0.4, log=messages.append
    )
    supervisor.start()
    deadline = time.monotonic() + 10
    while len(starts) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    supervisor.stop()
    supervisor.join(5)
    delays = [float(m.rsplit(" ", 1)[1].rstrip("s")) for m in messages[:4]]
    assert delays == [0.1, 0.2, 0.4, 0.4]  # doubling, capped at backoff_max
    assert all("tracer exited" in m for m in messages)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= delay for gap, delay in zip(gaps, delays, strict=False))
    assert not metrics.up
    assert metrics.restarts == len(starts) - 1


def test_a_missing_tracer_before_any_data_is_fatal():
    def source():
        raise TracerNotFound("bpftrace is not installed")

    metrics = ScriptMetrics("t")
    supervisor = Supervisor(metrics, source, fatal=(TracerNotFound,), log=lambda m: None)
    supervisor.start()
    supervisor.join(5)
    assert not supervisor.is_alive()
    assert isinstance(supervisor.fatal, TracerNotFound)


# --------------------------------------------------------------------------- many scrapers

SERVER_SCRIPT = r"""
import datetime as dt, sys, threading, time
from dtscope.collectors.model import AggInfo, AggRow, Bucket, Snapshot
from dtscope.exporters.http import ExporterServer
from dtscope.exporters.prometheus import Exposition, ScriptMetrics
from dtscope.exporters.supervisor import Supervisor

def source():
    seq = 0
    while True:
        time.sleep(0.5)
        rows = [AggRow("calls", "count", ("proc%d" % (i % 500), i), 1) for i in range(2000)]
        rows += [AggRow("lat", "quantize", ("proc%d" % i,), 2, [Bucket(1 << (i % 20), 2 << (i % 20), 2)])
                 for i in range(200)]
        yield Snapshot(time=dt.datetime.now(dt.timezone.utc), seq=seq, interval=0.5, rows=rows,
                       aggregations={"calls": AggInfo("calls", "count", ["execname", "pid"]),
                                     "lat": AggInfo("lat", "quantize", ["execname"], "ns")})
        seq += 1

metrics = ScriptMetrics("soak")
exposition = Exposition([metrics])
server = ExporterServer(exposition, ("127.0.0.1", 0)).start()
Supervisor(metrics, source, on_snapshot=exposition.refresh).start()
print(server.port, flush=True)
sys.stdin.read()
"""


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_fifty_concurrent_scrapers_for_a_minute_no_errors_bounded_memory():
    duration, scrapers = 60.0, 50
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        port = int(proc.stdout.readline())
        errors: list[str] = []
        counts = [0] * scrapers
        stop_at = time.monotonic() + duration
        rss: list[int] = []

        def scrape(index: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.monotonic() < stop_at:
                try:
                    connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
                    response = connection.getresponse()
                    body = response.read()
                    if response.status != 200:
                        errors.append(f"status {response.status}")
                        continue
                    text = gzip.decompress(body)
                    if b'dtscope_up{script="soak"}' not in text or not text.endswith(b"\n"):
                        errors.append("incomplete body")
                    counts[index] += 1
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    errors.append(f"{type(err).__name__}: {err}")
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.close()

        threads = [threading.Thread(target=scrape, args=(i,)) for i in range(scrapers)]
        for t in threads:
            t.start()
        while time.monotonic() < stop_at:
            time.sleep(5)
            rss.append(rss_kib(proc.pid))
        for t in threads:
            t.join(60)
        assert errors == [], errors[:5]
        assert all(c > 0 for c in counts), counts
        # Memory settles once every connection has its thread and the series exist;
        # from then on it must not keep growing (a leak would grow with each scrape).
        settled = max(rss[1:3])
        assert max(rss) < settled + 20 * 1024, rss
        assert max(rss) < 300 * 1024, rss
        print(f"\n{sum(counts)} scrapes by {scrapers} scrapers in {duration:g}s; RSS KiB {rss}")
    finally:
        proc.stdin.close()
        proc.terminate()
        proc.wait(10)


# --------------------------------------------------------------------------- command line


def test_export_needs_a_script(dtscope_cli):
    code, _, err = dtscope_cli("export")
    assert code == 2
    assert "name at least one probe or script" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["x.d", "--interval", "0"], "must be more than 0"),
        (["x.d", "--interval", "soon"], "expected a duration"),
        (["x.d", "--listen", "nowhere"], "expected HOST:PORT"),
        (["x.d", "--series-limit", "0"], "at least 1"),
        (["x.d", "--web-config", "/nonexistent/web.yml"], "cannot read web config"),
        (["--config", "/nonexistent/exporter.yaml"], "cannot read config"),
    ],
)
def test_export_bad_arguments_are_clear_errors(dtscope_cli, args, message):
    code, _, err = dtscope_cli("export", *args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_bad_config_files_are_clear_errors(dtscope_cli, tmp_path):
    config = tmp_path / "exporter.yaml"
    config.write_text("scripts: [x.d]\nlisten_address: 1.2.3.4:5\n")
    code, _, err = dtscope_cli("export", "--config", str(config))
    assert code == 1 and "unknown setting(s) listen_address" in err
    config.write_text("scripts: [{file: x.d}]\n")
    code, _, err = dtscope_cli("export", "--config", str(config))
    assert code == 1 and "each script is a probe name" in err


def test_the_example_config_file_is_valid():
    import argparse

    from dtscope.commands.export import settings_from

    path = REPO / "exporters" / "service" / "exporter.yaml"
    args = argparse.Namespace(
        config=str(path),
        scripts=[],
        defines=[],
        listen=None,
        interval=None,
        web_config=None,
        series_limit=None,
        backend=None,
    )
    settings = settings_from(args)
    assert settings.listen == "127.0.0.1:9470"
    assert settings.scripts and settings.interval > 0
    assert settings.series_limit == 10000


def test_destructive_scripts_are_refused(dtscope_cli, tmp_path):
    pytest.importorskip("dtscope.dscript.checks")
    script = tmp_path / "bad.d"
    script.write_text('syscall::getppid:entry { system("echo hi"); }\n')
    code, _, err = dtscope_cli("export", str(script))
    assert code == 1
    assert "destructive actions (system)" in err
    assert "refuses" in err


# --------------------------------------------------------------------------- service files


def test_smf_manifest_runs_the_exporter_with_its_config():
    import xml.etree.ElementTree as ET

    root = ET.parse(REPO / "exporters" / "service" / "dtscope-exporter.xml").getroot()
    service = root.find("service")
    assert service is not None and service.get("name") == "application/dtscope-exporter"
    start = service.find("exec_method[@name='start']")
    assert "dtscope export --config %{config/file}" in start.get("exec")
    config = service.find("property_group[@name='config']/propval[@name='file']")
    assert config.get("value").endswith("exporter.yaml")
    credential = service.find("method_context/method_credential")
    assert "dtrace_kernel" in credential.get("privileges")


def test_systemd_unit_verifies(tmp_path):
    import shutil

    unit = (REPO / "exporters" / "service" / "dtscope-exporter.service").read_text()
    assert "ExecStart=/usr/local/bin/dtscope export --config /etc/dtscope/exporter.yaml" in unit
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # verify insists that ExecStart exists: point it at this checkout's dtscope
    local = tmp_path / "dtscope-exporter.service"
    local.write_text(
        unit.replace("/usr/local/bin/dtscope", str(Path(sys.executable).parent / "dtscope"))
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(local)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_grafana_dashboard_queries_are_valid_promql(tmp_path):
    import json
    import re
    import shutil

    dashboard = json.loads((REPO / "exporters" / "grafana" / "dtscope.json").read_text())
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert any(
        "heatmap" == t.get("format") for p in dashboard["panels"] for t in p.get("targets", [])
    )
    assert any("by (zone)" in e for e in exprs)
    for expr in exprs:
        for name in re.findall(r"\$\{?(\w+)\}?", expr):
            assert name in variables or name == "__rate_interval", (name, expr)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    concrete = {
        "${counter}": "dtscope_x_calls_total",
        "${histogram}": "dtscope_x_lat_seconds",
        "$__rate_interval": "1m",
        "$instance": ".*",
        "$zone": ".*",
        "$job": ".*",
    }
    rules = ["groups:", "  - name: dashboard", "    rules:"]
    for i, expr in enumerate(exprs):
        for variable, value in concrete.items():
            expr = expr.replace(variable, value)
        rules += [f"      - record: dashboard:query{i}", f"        expr: {json.dumps(expr)}"]
    path = tmp_path / "rules.yml"
    path.write_text("\n".join(rules) + "\n")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_export_replays_a_saved_run_once_and_keeps_serving_it(tmp_path):
    """A .jsonl run needs no tracer (and no root): counted once, never restarted."""
    import signal
    import socket

    from dtscope.collectors.model import write_jsonl

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    runs = []
    for seq, value in enumerate((3, 4, 5)):
        s = snapshot(seq, value)
        s.time = start + dt.timedelta(seconds=0.1 * seq)
        runs.append(s)
    path = tmp_path / "saved.jsonl"
    with open(path, "w") as fh:
        write_jsonl(runs, fh)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtscope", "export", str(path), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = b""
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
            except OSError:
                body = b""
            if b'dtscope_snapshots_total{script="saved"} 3.0' in body:
                break
            time.sleep(0.1)
        time.sleep(1)  # a restart, if there were one, would count the run again
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert b'dtscope_saved_calls_total{execname="bash"} 12.0' in body
        assert b'dtscope_saved_lat_seconds_bucket{execname="bash",le="2.047e-06"} 3.0' in body
        assert b'dtscope_up{script="saved"} 0.0' in body
        assert b'dtscope_tracer_restarts_total{script="saved"} 0.0' in body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _, err = proc.communicate()
    assert "Traceback" not in err


def test_connections_beyond_the_limit_are_closed_and_the_server_recovers(monkeypatch):
    import socket

    from dtscope.exporters import http as export_http

    monkeypatch.setattr(export_http._Server, "max_connections", 3)
    server = serve(ScriptMetrics("t"))
    idle = []
    try:
        for _ in range(3):  # hold every slot with a silent connection
            idle.append(socket.create_connection(("127.0.0.1", server.port)))
        time.sleep(0.3)
        extra = socket.create_connection(("127.0.0.1", server.port))
        extra.settimeout(5)
        try:
            extra.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = extra.recv(100)
        except ConnectionError:  # reset: closed before it read the request
            answer = b""
        assert answer == b""  # closed without an answer
        extra.close()
        for connection in idle:
            connection.close()
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status, _, _ = get(server.url + "/metrics")
            except OSError:
                time.sleep(0.1)
        assert status == 200
    finally:
        for connection in idle:
            connection.close()
        server.shutdown()
