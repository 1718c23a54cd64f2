"""The probe library: ready-made Python-authored scripts with metadata.

Every ``probes/*.py`` file is a tracing script (see docs/python-scripts.md) whose ``META``
names it, puts it in an area and lists the platforms it serves. A probe usually is one
file that serves both platforms (its D is lowered to bpftrace on Linux); when Linux needs
different D (another tracepoint, fewer fields), the probe has one file per platform that
share a ``META["name"]`` (``tcp_bytes.py`` for illumos, ``tcp_bytes_linux.py`` for Linux).

``get(name)`` finds a probe; ``probe.path`` is the script for the platform dtscope runs on
and raises :class:`~dtscope.errors.UserError` when the probe does not serve it, so every
command fails with a clear message before anything runs. ``list(area=None)`` lists them.
The platform is ``illumos`` on illumos/SmartOS and ``linux`` on Linux; the environment
variable ``DTSCOPE_PLATFORM`` overrides it (to compile illumos D on a Linux laptop).
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dtscope.errors import UsageError, UserError

HERE = Path(__file__).resolve().parent
AREAS: tuple[str, ...] = ("zones", "kvm", "zfs", "net", "cpu", "syscalls", "disk")
PLATFORMS: tuple[str, ...] = ("illumos", "linux")


def host_platform() -> str | None:
    """The platform dtscope runs on, as probes name it (None: neither)."""
    override = os.environ.get("DTSCOPE_PLATFORM")
    if override:
        return override
    if sys.platform.startswith("sunos"):
        return "illumos"
    if sys.platform.startswith("linux"):
        return "linux"
    return None


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # int | string | duration | identifier
    default: int | str | None
    help: str = ""


@dataclass
class Probe:
    """One probe of the library, with one script per platform it serves."""

    name: str
    area: str
    description: str
    scripts: dict[str, Path] = field(default_factory=dict)  # platform -> script
    params: builtins.list[Param] = field(default_factory=builtins.list)
    units: dict[str, str] = field(default_factory=dict)  # aggregation -> ns | bytes | count
    labels: dict[str, builtins.list[str]] = field(default_factory=dict)  # aggregation -> key names
    # Per platform, when its script declares aggregations of its own: platform -> units.
    units_by_platform: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def platforms(self) -> list[str]:
        return [p for p in PLATFORMS if p in self.scripts]

    def path_for(self, platform: str | None) -> Path:
        """The script serving ``platform``; UserError naming the platforms it does serve."""
        if platform in self.scripts:
            return self.scripts[platform]  # type: ignore[index]
        where = platform or sys.platform
        raise UserError(
            f"probe {self.name} does not run on {where}: it serves {', '.join(self.platforms)}"
        )

    @property
    def path(self) -> Path:
        """The script for the platform dtscope runs on (see :func:`host_platform`)."""
        return self.path_for(host_platform())


class ProbeLibraryError(RuntimeError):
    """A probe file is broken: a bug in dtscope, reported with the file's name."""


_PARAM_TYPES = {"int": "int", "str": "string", "Duration": "duration", "Identifier": "identifier"}


def read_declarations(path: Path) -> tuple[dict[str, Any], builtins.list[Param]]:
    """META (with units and labels from the aggregations) and parameters of a probe file.

    Read from the file's syntax tree without compiling it, so that listing the library
    stays fast; the compiler (:mod:`dtscope.dscript.pyscript`) is the authority and a test
    checks that both agree for every probe.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as err:
        raise ProbeLibraryError(f"probe file {path.name} cannot be read: {err}") from None
    meta: dict[str, Any] = {}
    params: builtins.list[Param] = []
    units: dict[str, str] = {}
    labels: dict[str, builtins.list[str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        try:
            if name == "META":
                meta = dict(ast.literal_eval(value))
                continue
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
                continue
            keywords = {k.arg: ast.literal_eval(k.value) for k in value.keywords if k.arg in ("default", "help", "units", "labels")}
        except ValueError:
            raise ProbeLibraryError(f"probe file {path.name}: {name} is not made of literals") from None
        if value.func.id == "param":
            kind = value.args[0].id if value.args and isinstance(value.args[0], ast.Name) else "?"
            params.append(Param(name, _PARAM_TYPES.get(kind, kind), keywords.get("default"), keywords.get("help", "")))
        elif value.func.id == "aggregation":
            if keywords.get("units"):
                units[name] = keywords["units"]
            if keywords.get("labels"):
                labels[name] = builtins.list(keywords["labels"])
    doc = ast.get_docstring(tree)
    if not meta.get("description") and doc:
        meta["description"] = doc.strip().splitlines()[0]
    meta.setdefault("name", path.stem.replace("_", "-"))
    meta["units"] = units
    meta["labels"] = labels
    return meta, params


def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    for key in ("name", "area", "description", "platforms"):
        if not meta.get(key):
            raise ProbeLibraryError(f"probe file {path.name}: META has no {key}")
    if meta["area"] not in AREAS:
        raise ProbeLibraryError(f"probe file {path.name}: unknown area {meta['area']!r}")


@lru_cache(maxsize=1)
def _library() -> dict[str, Probe]:
    probes: dict[str, Probe] = {}
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        meta, params = read_declarations(path)
        _check_meta(path, meta)
        probe = probes.setdefault(
            meta["name"], Probe(name=meta["name"], area=meta["area"], description=meta["description"])
        )
        if probe.area != meta["area"]:
            raise ProbeLibraryError(f"probe {probe.name}: its files disagree on the area")
        for platform in meta["platforms"]:
            if platform in probe.scripts:
                raise ProbeLibraryError(
                    f"probe {probe.name}: {probe.scripts[platform].name} and {path.name} both serve {platform}"
                )
            probe.scripts[platform] = path
            probe.units_by_platform[platform] = meta["units"]
        # The illumos script is the reference: its description, parameters and units.
        if "illumos" in meta["platforms"] or not probe.params and not probe.units:
            probe.description = meta["description"]
            probe.params = params
            probe.units = meta["units"]
            probe.labels = meta["labels"]
    return probes


def names() -> builtins.list[str]:
    return sorted(_library())


def get(name: str) -> Probe:
    """The probe called ``name``; KeyError if there is none."""
    library = _library()
    if name not in library:
        raise KeyError(name)
    return library[name]


def list(area: str | None = None) -> builtins.list[Probe]:
    """All probes (of one area), by area in :data:`AREAS` order, then by name."""
    if area is not None and area not in AREAS:
        raise UsageError(f"unknown area {area!r} (areas: {', '.join(AREAS)})")
    probes = [p for p in _library().values() if area is None or p.area == area]
    return sorted(probes, key=lambda p: (AREAS.index(p.area), p.name))
