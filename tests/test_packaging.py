"""Installed, dtscope is one import namespace: `dtscope.*`, nothing generic at the top
of site-packages; editable and normal installs both import; dependencies point one way."""

from __future__ import annotations

import ast
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


# The packages every package may import (besides itself and the standard library):
# dscript <- collectors <- {tui, exporters}; probes -> dscript only; the namespace root
# (the command line) may import them all. dtscope.errors is the shared base of all.
ALLOWED = {
    "dscript": {"errors"},
    "collectors": {"dscript", "errors"},
    "tui": {"collectors", "dscript", "errors"},
    "exporters": {"collectors", "dscript", "errors"},
    "probes": {"dscript", "errors"},
    "root": {"dscript", "collectors", "tui", "exporters", "probes", "errors", "root"},
}
FOLDERS = {"dscript": "dscript", "collectors": "collectors", "tui": "tui", "exporters": "exporters",
           "probes": "probes", "root": "dtscope"}


def _package(module: str) -> str:
    """``dtscope.collectors.model`` -> "collectors"; ``dtscope.errors`` -> "errors"."""
    parts = module.split(".")
    if parts[:2] == ["dtscope", "errors"]:
        return "errors"
    if len(parts) > 1 and parts[1] in ALLOWED and parts[1] != "root":
        return parts[1]
    return "root"


def _imports_of(path: Path, module: str):
    """Every dtscope module ``path`` imports, resolved, with its line and whether the
    import sits inside a function: read from the source, so that no import can hide."""
    tree = ast.parse(path.read_text(), str(path))
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(n) for f in functions for n in ast.walk(f) if n is not f}
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # `from dtscope import probes` imports dtscope.probes
            names = list(dict.fromkeys(f"{base}.{a.name}" if base == "dtscope" else base for a in node.names))
        else:
            continue
        for name in names:
            if name == "dtscope" or name.startswith("dtscope."):
                yield name, node.lineno, id(node) in inside


def _modules():
    for package, folder in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            relative = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            prefix = "dtscope" if package == "root" else f"dtscope.{package}"
            yield package, path, ".".join([prefix, *parts])


def test_dependencies_point_one_way():
    wrong, hidden = [], []
    for package, path, module in _modules():
        for name, line, in_function in _imports_of(path, module):
            target = _package(name)
            where = f"{path.relative_to(REPO)}:{line} imports {name}"
            if target != package and target not in ALLOWED[package]:
                wrong.append(where)
            # Imports across packages sit at the top, where readers and tools see them.
            # (The command line loads each command's module only when it runs.)
            if in_function and target != package and package != "root":
                hidden.append(where)
    assert not wrong, "imports against the direction dscript <- collectors <- {tui, exporters}:\n" + "\n".join(wrong)
    assert not hidden, "cross-package imports inside functions:\n" + "\n".join(hidden)


def test_front_end_and_collectors_do_not_load_heavy_packages():
    probe = (
        "import sys, json, importlib\n"
        "importlib.import_module(sys.argv[1])\n"
        "print(json.dumps(sorted(m.split('.')[0] if not m.startswith('dtscope.') else '.'.join(m.split('.')[:2]) "
        "for m in sys.modules)))\n"
    )

    def loaded(module: str) -> set[str]:
        out = subprocess.run([sys.executable, "-c", probe, module], capture_output=True, text=True, check=True)
        return set(json.loads(out.stdout))

    front_end = loaded("dtscope.dscript.checks") | loaded("dtscope.dscript.parser") | loaded("dtscope.dscript.targets")
    assert not {"pandas", "textual", "matplotlib", "dtscope.collectors", "dtscope.tui", "dtscope.exporters"} & front_end
    check_cmd = loaded("dtscope.commands.check")
    assert not {"pandas", "textual", "matplotlib", "dtscope.collectors"} & check_cmd
    collectors = loaded("dtscope.collectors.session") | loaded("dtscope.collectors.model")
    assert not {"textual", "pandas", "matplotlib", "dtscope.tui", "dtscope.exporters"} & collectors


def test_the_static_import_reader_sees_imports_inside_functions(tmp_path):
    """The direction test must catch an import hidden in a function, where sys.modules cannot."""
    source = tmp_path / "bad.py"
    source.write_text("def f():\n    from dtscope.tui import app\n    from . import model\n")
    found = list(_imports_of(source, "dtscope.collectors.bad"))
    assert sorted(found) == [("dtscope.collectors", 3, True), ("dtscope.tui", 2, True)]


def test_every_tracer_of_the_target_table_has_a_backend():
    from dtscope.collectors.session import BACKEND_CLASSES, BACKENDS
    from dtscope.dscript.targets import TARGETS

    tracers = {t.tracer for t in TARGETS.values() if t.tracer}
    assert tracers == {"bpftrace", "dtrace"} and tracers <= set(BACKEND_CLASSES)
    assert BACKENDS == ("auto", "bpftrace", "dtrace", "replay")
    assert all(t.lower is not None for t in TARGETS.values() if t.tracer)
