"""Installed, dtscope is one import namespace: `dtscope.*`, nothing generic at the top
of site-packages; editable and normal installs both import; dependencies point one way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUBPACKAGES = ["dtscope.dscript", "dtscope.collectors", "dtscope.tui", "dtscope.exporters", "dtscope.probes"]


def _imports(python: str, env: dict | None = None, cwd: str = "/") -> None:
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in ["dtscope.cli"] + SUBPACKAGES)
    subprocess.run([python, "-c", code], check=True, cwd=cwd, env=env, timeout=120)


def test_editable_install_imports_from_anywhere():
    # The venv running the tests has dtscope installed editable (pip install -e).
    _imports(sys.executable)


def test_normal_install_has_one_namespace(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(target), str(REPO)],
        check=True, timeout=300, capture_output=True,
    )
    top_level = sorted(p.name for p in target.iterdir() if not p.name.endswith((".dist-info", ".egg-info")))
    assert top_level in (["dtscope"], ["bin", "dtscope"]), top_level
    installed = target / "dtscope"
    for sub in ("dscript", "collectors", "tui", "exporters", "probes", "commands"):
        assert (installed / sub / "__init__.py").is_file(), sub
    assert (installed / "dscript" / "d.lark").is_file()
    env = dict(os.environ, PYTHONPATH=str(target), PYTHONNOUSERSITE="1")
    # Run from an empty folder so the checkout cannot be imported by accident.
    code = (
        "import sys; sys.path = [p for p in sys.path if 'site-packages' not in p or 'dtscope' not in p];"
        "import dtscope.dscript.parser as p, dtscope.probes, dtscope.tui, dtscope.exporters, dtscope.collectors;"
        "print(p.__file__)"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    # -S drops site-packages (and so the editable finder); lark comes from PYTHONPATH-less
    # site, so re-run without -S but with the editable finder disabled if lark is missing.
    if out.returncode != 0 and "lark" in out.stderr:
        site = subprocess.run([sys.executable, "-c", "import lark, os; print(os.path.dirname(os.path.dirname(lark.__file__)))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        env["PYTHONPATH"] = f"{target}{os.pathsep}{site}"
        out = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(target))


def test_dependencies_point_one_way():
    probe = (
        "import sys, json, importlib\n"
        "importlib.import_module(sys.argv[1])\n"
        "print(json.dumps(sorted(m.split('.')[0] if not m.startswith('dtscope.') else '.'.join(m.split('.')[:2]) "
        "for m in sys.modules)))\n"
    )

    def loaded(module: str) -> set[str]:
        out = subprocess.run([sys.executable, "-c", probe, module], capture_output=True, text=True, check=True)
        return set(json.loads(out.stdout))

    front_end = loaded("dtscope.dscript.checks") | loaded("dtscope.dscript.parser") | loaded("dtscope.dscript.printer")
    assert not {"pandas", "textual", "matplotlib", "dtscope.collectors", "dtscope.tui", "dtscope.exporters"} & front_end
    check_cmd = loaded("dtscope.commands.check")
    assert not {"pandas", "textual", "matplotlib"} & check_cmd
    collectors = loaded("dtscope.collectors.model") | loaded("dtscope.collectors.base")
    assert not {"textual", "dtscope.tui", "dtscope.exporters"} & collectors
