"""Serve probes and D/Python scripts as Prometheus metrics.

Each script runs under its own tracer (restarted with backoff if it dies); /metrics
serves its aggregations, and / a small index page. Binds 127.0.0.1 unless told.

examples:
  dtscope export syscall-latency
  dtscope export io.d syscall-latency --listen 0.0.0.0:9470 --interval 5s
  dtscope export --config /etc/dtscope/exporter.yaml
  dtscope export syscall-latency --web-config web.yml     (TLS and basic auth)

Metric names are dtscope_<script>_<aggregation> (see docs/exporter.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from dtscope.collectors.base import RunOptions, TracerNotFound, TracerPermissionError
from dtscope.collectors.session import run_stream, tune_gc_for_streaming
from dtscope.errors import UsageError, UserError
from dtscope.exporters.http import DEFAULT_LISTEN, ExporterServer, parse_listen
from dtscope.exporters.prometheus import DEFAULT_SERIES_LIMIT, Exposition, ScriptMetrics
from dtscope.exporters.supervisor import Supervisor, end_child_tracers
from dtscope.exporters.webconfig import WebConfig, load_web_config
from dtscope.scripts import load_script, parse_defines

DEFAULT_INTERVAL = 5.0
CONFIG_KEYS = {"scripts", "listen", "interval", "web_config", "series_limit", "backend", "defines"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scripts", nargs="*", metavar="PROBE|FILE", help="probe names, .d or .py scripts"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML config (see exporters/service/exporter.yaml)"
    )
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="address to serve on (default 127.0.0.1:9470)"
    )
    parser.add_argument(
        "--interval", metavar="I", help="seconds between snapshots, e.g. 5s, 500ms (default 5s)"
    )
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="define a script parameter (repeatable; applies to every script)",
    )
    parser.add_argument(
        "--web-config", metavar="FILE", help="TLS and basic auth (exporter-toolkit format)"
    )
    parser.add_argument(
        "--series-limit",
        type=int,
        metavar="N",
        help="most series per metric; more are dropped and counted (default 10000)",
    )
    parser.add_argument(
        "--backend", choices=("auto", "bpftrace", "dtrace", "replay"), help="tracer (default auto)"
    )


@dataclass
class ScriptSpec:
    spec: str
    defines: dict[str, str] = field(default_factory=dict)
    name: str | None = None


@dataclass
class ExportSettings:
    scripts: list[ScriptSpec]
    listen: str
    interval: float
    web_config: str | None
    series_limit: int
    backend: str


def parse_interval(text: Any) -> float:
    """``5``, ``5s``, ``500ms``, ``1m`` -> seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        for suffix, factor in (("ms", 1e-3), ("sec", 1.0), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
            if raw.endswith(suffix):
                number, scale = raw[: -len(suffix)], factor
                break
        else:
            number, scale = raw, 1.0
        try:
            seconds = float(number) * scale
        except ValueError:
            raise UsageError(f"interval {text!r}: expected a duration like 5s or 500ms") from None
    if not seconds > 0:
        raise UsageError(f"interval {text!r}: must be more than 0")
    return seconds


def load_config(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except OSError as err:
        raise UserError(f"cannot read config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise UserError(f"config {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"config {path}: expected a mapping at the top")
    unknown = set(data) - CONFIG_KEYS
    if unknown:
        raise UserError(f"config {path}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    return data


def _script_specs(items: Any, base: str, where: str) -> list[ScriptSpec]:
    if not isinstance(items, list):
        raise UserError(f"{where}: scripts must be a list")
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(ScriptSpec(_relative(item, base)))
        elif isinstance(item, dict) and isinstance(item.get("script"), str):
            unknown = set(item) - {"script", "defines", "name"}
            if unknown:
                raise UserError(
                    f"{where}: script {item['script']}: unknown setting(s) {', '.join(sorted(unknown))}"
                )
            defines = item.get("defines") or {}
            if not isinstance(defines, dict):
                raise UserError(f"{where}: script {item['script']}: defines must be a mapping")
            specs.append(
                ScriptSpec(
                    _relative(item["script"], base),
                    {str(k): str(v) for k, v in defines.items()},
                    item.get("name"),
                )
            )
        else:
            raise UserError(
                f"{where}: each script is a probe name, a file, or {{script: ..., defines: ...}}"
            )
    return specs


def _relative(spec: str, base: str) -> str:
    """Files named in a config are relative to it; probe names stay as they are."""
    if spec.endswith((".d", ".py", ".jsonl")) and not os.path.isabs(spec):
        return os.path.join(base, spec)
    return spec


def settings_from(args: argparse.Namespace) -> ExportSettings:
    """Command-line values win over the config file's."""

    config: dict[str, Any] = {}
    base = os.getcwd()
    where = "command line"
    if args.config:
        config = load_config(args.config)
        base = os.path.dirname(os.path.abspath(args.config))
        where = f"config {args.config}"
    cli_defines = parse_defines(args.defines)
    if args.scripts:
        scripts = [ScriptSpec(s) for s in args.scripts]
    else:
        scripts = _script_specs(config.get("scripts") or [], base, where)
    config_defines = config.get("defines") or {}
    if not isinstance(config_defines, dict):
        raise UserError(f"{where}: defines must be a mapping")
    for script in scripts:
        script.defines = {
            **{str(k): str(v) for k, v in config_defines.items()},
            **script.defines,
            **cli_defines,
        }
    if not scripts:
        raise UsageError("name at least one probe or script (or a --config file with scripts:)")
    web_config = args.web_config
    if web_config is None and config.get("web_config"):
        web_config = os.path.join(base, str(config["web_config"]))
    series_limit = (
        args.series_limit
        if args.series_limit is not None
        else config.get("series_limit", DEFAULT_SERIES_LIMIT)
    )
    if not isinstance(series_limit, int) or series_limit < 1:
        raise UsageError(f"series limit {series_limit!r}: expected a whole number of at least 1")
    return ExportSettings(
        scripts=scripts,
        listen=str(args.listen or config.get("listen") or DEFAULT_LISTEN),
        interval=parse_interval(
            args.interval if args.interval is not None else config.get("interval", DEFAULT_INTERVAL)
        ),
        web_config=web_config,
        series_limit=series_limit,
        backend=str(args.backend or config.get("backend") or "auto"),
    )


def load_scripts(settings: ExportSettings) -> list[Any]:
    loaded = []
    names: dict[str, str] = {}
    for spec in settings.scripts:
        script = load_script(spec.spec, spec.defines)
        if spec.name:
            script.name = spec.name
        if script.destructive:
            raise UserError(
                f"{script.display_name} uses destructive actions ({', '.join(script.destructive)}): "
                "dtscope export refuses them (an exporter must only observe)"
            )
        if script.name in names:
            raise UsageError(
                f"two scripts are named {script.name!r} ({names[script.name]} and {spec.spec}): "
                "metric names would clash; give one a `name:` in the config file"
            )
        names[script.name] = spec.spec
        loaded.append(script)
    return loaded


def snapshot_source(script: Any, backend: str, interval: float):
    """A function that starts the script's tracer and returns its snapshot stream."""
    def start():
        # printf()/trace() output of a script has nowhere to go in a service
        options = RunOptions(interval=interval, on_output=lambda line: None)
        return run_stream(script, backend, options)

    return start


def tune_process() -> None:
    """Process-wide settings for serving scrapes while big snapshots arrive.

    Scrapes wait on the GIL while a snapshot is folded in; a 1 ms switch interval
    (5 ms by default) cuts that wait (bench/scrape.py: p99 74 ms -> 36 ms at 10,000
    series). Snapshots allocate many short-lived rows with no cycles: collect rarely.
    """

    sys.setswitchinterval(0.001)
    tune_gc_for_streaming()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    address = parse_listen(settings.listen)
    web = load_web_config(settings.web_config) if settings.web_config else WebConfig()
    scripts = load_scripts(settings)

    metrics = [
        ScriptMetrics(
            s.name, units=dict(getattr(s, "units", None) or {}), series_limit=settings.series_limit
        )
        for s in scripts
    ]
    exposition = Exposition(metrics)
    server = ExporterServer(exposition, address, web)
    supervisors = [
        Supervisor(
            m,
            snapshot_source(s, settings.backend, settings.interval),
            on_snapshot=exposition.refresh,  # render once per snapshot, not per scrape
            fatal=(TracerNotFound, TracerPermissionError),
            # a saved run replayed twice would count everything twice
            restart=getattr(s, "kind", None) != "replay",
        )
        for m, s in zip(metrics, scripts)
    ]

    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    tune_process()
    server.start()
    print(
        f"dtscope export: serving {len(scripts)} script(s) ({', '.join(m.script for m in metrics)}) "
        f"on {server.url}/metrics every {settings.interval:g}s",
        file=sys.stderr,
        flush=True,
    )
    for supervisor in supervisors:
        supervisor.start()
    failure: BaseException | None = None
    try:
        while True:
            for supervisor in supervisors:
                if supervisor.fatal is not None:
                    failure = supervisor.fatal
                    break
            if failure is not None:
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for supervisor in supervisors:
            supervisor.stop()
        end_child_tracers()
        for supervisor in supervisors:
            supervisor.join(timeout=15)
        server.shutdown()
    if failure is not None:
        raise UserError(str(failure))
    return 0
