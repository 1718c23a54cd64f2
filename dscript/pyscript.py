"""Python-authored tracing scripts, compiled to the D tree.

A script is a Python module written against :mod:`dtscope.dscript.api` (the guide is
docs/python-scripts.md). It is never executed: this compiler reads it with Python's
``ast`` module and builds :mod:`dtscope.dscript.ast` nodes directly (never D text), so
what comes out is always well-formed D, and values given with ``-D name=value`` become
literals that cannot change the program's shape.

The module level holds declarations only: imports from the api, ``META``, parameters,
aggregations, associative arrays, constants, ``options(...)`` and the probe clauses
(functions decorated with ``@probe``). Everything outside the supported subset is a
:class:`DiagnosticError` that names the ``.py`` file, line and column.
"""

from __future__ import annotations

import ast as py
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from dtscope.errors import UsageError, UserError

from . import api
from . import ast as A
from .builtins import BUILTIN_VARIABLES, LIBRARY_CONSTANTS, TIME_UNITS_NS
from .diagnostics import Diagnostic, DiagnosticError

API_MODULE = "dtscope.dscript.api"

# --------------------------------------------------------------------------- public results

PARAM_TYPES = ("int", "string", "duration", "identifier")
UNITS = ("ns", "bytes", "count")
PLATFORMS = ("illumos", "linux")
META_KEYS = ("name", "area", "description", "units", "labels", "platforms")

# A D-identifier-like word: zone names (including SmartOS UUIDs), syscall, module and
# function names, execnames without slashes. Safe inside a probe description.
D_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IDENTIFIER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# One probe description: up to four fields of name characters and D's glob characters.
# Anything else (spaces, braces, slashes, quotes) could end the description and start D.
PROBE_FIELD = r"[A-Za-z0-9_.$*?!\[\]-]*"
PROBE_DESC_RE = re.compile(rf"{PROBE_FIELD}(?::{PROBE_FIELD}){{0,3}}")
OPTION_VALUE_RE = re.compile(r"[A-Za-z0-9_.]+")
INT_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)")
DURATION_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-zµ]*)")
# Durations take D's time units, plus "µs" and a bare number (nanoseconds).
DURATION_UNITS = {"": 1, **TIME_UNITS_NS, "µs": 1_000}
# The C type names a cast may use: optional struct/union/enum, words, then stars.
CAST_TYPE_RE = re.compile(
    r"\s*(?:(struct|union|enum)\s+)?([A-Za-z_][A-Za-z0-9_]*(?:\s+[A-Za-z_][A-Za-z0-9_]*)*)\s*(\**)\s*"
)
INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


@dataclass
class ParamSpec:
    """A declared parameter: ``min_latency = param(Duration, default="1ms", help=...)``."""

    name: str
    type: str  # one of PARAM_TYPES
    default: int | str | None
    help: str = ""
    span: A.Span | None = field(default=None, compare=False, repr=False)

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass
class AggregationInfo:
    """A declared aggregation: ``latency = aggregation(units="ns", labels=[...])``."""

    name: str
    units: str | None = None
    labels: tuple[str, ...] | None = None
    help: str = ""


@dataclass
class PyScript:
    """A compiled script: the D program and what the script declared about itself."""

    filename: str
    program: A.Program
    params: list[ParamSpec]
    values: dict[str, int | str]  # each parameter's value as compiled (defaults and -D)
    metadata: dict[str, Any]
    aggregations: dict[str, AggregationInfo]

    @property
    def units(self) -> dict[str, str]:
        return {name: info.units for name, info in self.aggregations.items() if info.units}


def compile_file(path: str, defines: dict[str, str] | None = None) -> PyScript:
    """Compile the script at ``path``; ``defines`` are ``-D name=value`` strings."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start})") from None
    return compile_source(text, path, defines)


def compile_source(
    text: str, filename: str = "<string>", defines: dict[str, str] | None = None
) -> PyScript:
    """Compile script source. Raises DiagnosticError (script) or UsageError (defines)."""
    return _Compiler(text, filename).compile(dict(defines or {}))


# --------------------------------------------------------------------------- parameter values


def parse_duration(text: str) -> int:
    """``"10ms"`` -> 10000000. A bare number is nanoseconds, as in D."""
    match = DURATION_RE.fullmatch(text.strip())
    if not match or match.group(2) not in DURATION_UNITS:
        raise ValueError(f"{text!r} is not a duration (e.g. 500us, 10ms, 2s)")
    try:
        value = Decimal(match.group(1)) * DURATION_UNITS[match.group(2)]
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a duration") from None
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of nanoseconds")
    if value > UINT64_MAX:
        raise ValueError(f"{text!r} is too long a duration")
    return int(value)


def format_duration(ns: int) -> str:
    """The shortest exact D spelling of a duration, for probe names such as ``tick-10ms``."""
    for unit in ("d", "h", "m", "s", "ms", "us"):
        size = DURATION_UNITS[unit]
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def parse_value(kind: str, text: str) -> int | str:
    """A parameter value given as text; ValueError says why it is not one."""
    if kind == "int":
        if not INT_RE.fullmatch(text.strip()):
            raise ValueError(f"{text!r} is not an integer")
        value = int(text.strip(), 0) if "x" in text.lower() else int(text.strip(), 10)
        if not INT64_MIN <= value <= UINT64_MAX:
            raise ValueError(f"{text!r} does not fit in 64 bits")
        return value
    if kind == "duration":
        return parse_duration(text)
    if kind == "identifier":
        if not IDENTIFIER_RE.fullmatch(text):
            raise ValueError(
                f"{text!r} is not an identifier (letters, digits, '_', '.', '-'; at most 128)"
            )
        return text
    return text  # string: any text; it only ever becomes a string literal


# --------------------------------------------------------------------------- the compiler


class _Skip(Exception):
    """Raised after recording a diagnostic to abandon the current statement."""


# What a module-level name stands for.
@dataclass
class _Symbol:
    kind: str  # "api" | "param" | "aggregation" | "array" | "const"
    target: str = ""  # the api name for "api"
    value: int | str | None = None  # for "const" (and "param" once resolved)


_BINARY_OPS = {
    py.Add: "+",
    py.Sub: "-",
    py.Mult: "*",
    py.Div: "/",
    py.FloorDiv: "/",
    py.Mod: "%",
    py.LShift: "<<",
    py.RShift: ">>",
    py.BitAnd: "&",
    py.BitOr: "|",
    py.BitXor: "^",
}
_COMPARE_OPS = {py.Eq: "==", py.NotEq: "!=", py.Lt: "<", py.LtE: "<=", py.Gt: ">", py.GtE: ">="}
_UNARY_OPS = {py.USub: "-", py.UAdd: "+", py.Invert: "~", py.Not: "!"}
_STATEMENT_NAMES = {
    py.For: "a for loop (D has no loops)",
    py.AsyncFor: "a for loop (D has no loops)",
    py.While: "a while loop (D has no loops)",
    py.Return: "return (a clause runs to its end)",
    py.With: "with",
    py.AsyncWith: "with",
    py.Try: "try",
    py.Raise: "raise",
    py.FunctionDef: "a nested function",
    py.AsyncFunctionDef: "a nested function",
    py.ClassDef: "a class",
    py.Global: "global",
    py.Nonlocal: "nonlocal",
    py.Import: "import",
    py.ImportFrom: "import",
    py.Assert: "assert",
    py.Match: "match",
    py.Break: "break",
    py.Continue: "continue",
}


class _Compiler:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.lines = text.splitlines()
        self.diagnostics: list[Diagnostic] = []
        self.symbols: dict[str, _Symbol] = {}
        self.params: list[ParamSpec] = []
        self.aggregations: dict[str, AggregationInfo] = {}
        self.metadata: dict[str, Any] = {}
        self.meta_node: py.AST | None = None
        self.pragmas: list[A.Pragma] = []
        self.functions: list[py.FunctionDef] = []
        self.docstring: str | None = None
        self.declared_global: set[str] = set()  # `global x` seen in the current clause

    # ------------------------------------------------------------------ driver

    def compile(self, defines: dict[str, str]) -> PyScript:
        module = self._parse()
        self._declarations(module)
        self._fail_if_errors()
        values = self._resolve_params(defines)
        for spec in self.params:
            self.symbols[spec.name].value = values[spec.name]
        clauses = [c for c in (self._clause(f) for f in self.functions) if c is not None]
        self._finish_metadata()
        self._fail_if_errors()
        if not clauses:
            self._error("PY_NO_PROBES", "the script declares no @probe clause", None)
            self._fail_if_errors()
        program = A.Program(items=[*self.pragmas, *clauses], span=A.Span(self.filename, 1, 1))
        return PyScript(
            filename=self.filename,
            program=program,
            params=self.params,
            values=values,
            metadata=self.metadata,
            aggregations=self.aggregations,
        )

    def _parse(self) -> py.Module:
        try:
            with warnings.catch_warnings():
                # "invalid escape sequence" and the like: Python's business, not the user's here.
                warnings.simplefilter("ignore")
                return py.parse(self.text, filename=self.filename)
        except SyntaxError as err:
            span = A.Span(self.filename, err.lineno or 1, err.offset or 1)
            self.diagnostics.append(
                Diagnostic("PY_SYNTAX", f"Python syntax error: {err.msg}", span)
            )
        except (ValueError, RecursionError, MemoryError) as err:
            self.diagnostics.append(
                Diagnostic(
                    "PY_SYNTAX", f"cannot parse as Python: {err}", A.Span(self.filename, 1, 1)
                )
            )
        self._fail_if_errors()
        raise AssertionError("unreachable")

    def _fail_if_errors(self) -> None:
        if any(d.severity == "error" for d in self.diagnostics):
            raise DiagnosticError(self.diagnostics, {self.filename: self.text})

    # ------------------------------------------------------------------ diagnostics

    def _span(self, node: py.AST | None) -> A.Span | None:
        if node is None or not hasattr(node, "lineno"):
            return None
        line, end_line = node.lineno, getattr(node, "end_lineno", None) or node.lineno
        col = self._column(line, node.col_offset)
        end_offset = getattr(node, "end_col_offset", None)
        end_col = self._column(end_line, end_offset) if end_offset is not None else 0
        return A.Span(self.filename, line, col, end_line, end_col)

    def _column(self, line: int, byte_offset: int) -> int:
        """Python reports UTF-8 byte offsets; diagnostics count characters from 1."""
        if 1 <= line <= len(self.lines):
            prefix = self.lines[line - 1].encode("utf-8")[:byte_offset]
            return len(prefix.decode("utf-8", errors="replace")) + 1
        return byte_offset + 1

    def _error(self, code: str, message: str, node: py.AST | None) -> None:
        span = self._span(node)
        if span is not None and span.end_line != span.line and 1 <= span.line <= len(self.lines):
            # A `for` or `while` spans its whole body: underline its first line only.
            end_col = len(self.lines[span.line - 1].rstrip()) + 1
            span = A.Span(span.file, span.line, span.col, span.line, end_col)
        self.diagnostics.append(Diagnostic(code, message, span))

    def _fail(self, code: str, message: str, node: py.AST | None) -> Any:
        self._error(code, message, node)
        raise _Skip

    # ------------------------------------------------------------------ module level

    def _declarations(self, module: py.Module) -> None:
        body = list(module.body)
        if body and _is_docstring(body[0]):
            self.docstring = body[0].value.value  # type: ignore[attr-defined]
            body = body[1:]
        for node in body:
            try:
                self._declaration(node)
            except _Skip:
                pass

    def _declaration(self, node: py.stmt) -> None:
        if isinstance(node, py.ImportFrom):
            self._import(node)
        elif isinstance(node, py.Import):
            self._fail(
                "PY_IMPORT", f"a script imports only with `from {API_MODULE} import ...`", node
            )
        elif isinstance(node, (py.Assign, py.AnnAssign)):
            self._module_assign(node)
        elif (
            isinstance(node, py.Expr)
            and isinstance(node.value, py.Call)
            and self._api_call_name(node.value) == "options"
        ):
            self._options(node.value)
        elif isinstance(node, py.FunctionDef):
            self.functions.append(node)
            self._declare(node.name, _Symbol("clause"), node)
        elif isinstance(node, py.If) and _is_main_guard(node):
            pass  # `if __name__ == "__main__":` may run the script through dtscope; not D
        else:
            what = _STATEMENT_NAMES.get(type(node), type(node).__name__)
            self._fail(
                "PY_UNSUPPORTED",
                f"{what} at module level: a script holds declarations and @probe functions only",
                node,
            )

    def _declare(self, name: str, symbol: _Symbol, node: py.AST) -> None:
        previous = self.symbols.get(name)
        if previous is not None and not (previous.kind == "api" and symbol.kind == "api"):
            self._fail("PY_REDEFINED", f"`{name}` is already defined in this script", node)
        self.symbols[name] = symbol

    def _import(self, node: py.ImportFrom) -> None:
        if node.module == "__future__" and node.level == 0:
            return
        if node.module != API_MODULE or node.level != 0:
            self._fail(
                "PY_IMPORT",
                f"a script imports only from {API_MODULE}, not {node.module or '.'}",
                node,
            )
        for alias in node.names:
            if alias.name == "*":
                continue  # every api name resolves anyway (see _api_name)
            if alias.name not in api.__all__:
                self._fail("PY_IMPORT", f"{API_MODULE} has no name `{alias.name}`", node)
            self._declare(alias.asname or alias.name, _Symbol("api", alias.name), node)

    def _module_assign(self, node: py.Assign | py.AnnAssign) -> None:
        targets = node.targets if isinstance(node, py.Assign) else [node.target]
        if len(targets) != 1 or not isinstance(targets[0], py.Name) or node.value is None:
            self._fail(
                "PY_UNSUPPORTED", "a module-level assignment binds one name to a declaration", node
            )
        name = targets[0].id  # type: ignore[union-attr]
        value = node.value
        assert value is not None
        if name == "META":
            self.meta_node = node
            self.metadata = self._meta(value)
            return
        called = self._api_call_name(value) if isinstance(value, py.Call) else None
        if called in ("aggregation", "assoc_array", "variable") and not _d_reads_name(called, name):
            self._fail(
                "PY_DECL",
                f"`{name}` is a reserved word or type name in D: choose another name",
                targets[0],
            )
        if called == "aggregation":
            self._declare(name, _Symbol("aggregation"), node)
            self.aggregations[name] = self._aggregation(name, value)  # type: ignore[arg-type]
        elif called in ("assoc_array", "variable"):
            if value.args or value.keywords:  # type: ignore[union-attr]
                self._fail("PY_DECL", f"{called}() takes no arguments", value)
            self._declare(name, _Symbol("array" if called == "assoc_array" else "global"), node)
        elif called == "param":
            spec = self._param(name, value)  # type: ignore[arg-type]
            self._declare(name, _Symbol("param"), node)
            self.params.append(spec)
        else:
            constant = self._literal_scalar(value)
            if constant is None:
                self._fail(
                    "PY_DECL",
                    f"`{name} = ...` must be aggregation(), assoc_array(), variable(), param(...), "
                    "META or an int or string constant",
                    value,
                )
            self._declare(name, _Symbol("const", value=constant), node)

    def _literal_scalar(self, node: py.expr) -> int | str | None:
        try:
            value = py.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, str)):
            return value
        return None

    def _literal(self, node: py.expr, what: str) -> Any:
        try:
            return py.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            self._fail("PY_DECL", f"{what} must be a literal value", node)

    def _keywords(self, call: py.Call, allowed: tuple[str, ...], what: str) -> dict[str, py.expr]:
        found: dict[str, py.expr] = {}
        for keyword in call.keywords:
            if keyword.arg is None or keyword.arg not in allowed:
                self._fail(
                    "PY_DECL", f"{what}() takes only {', '.join(allowed)} as keywords", keyword
                )
            found[keyword.arg] = keyword.value  # type: ignore[index]
        return found

    def _aggregation(self, name: str, call: py.Call) -> AggregationInfo:
        names = ("units", "labels", "help")
        if len(call.args) > len(names):
            self._fail("PY_DECL", "aggregation() takes units, labels and help", call)
        given = dict(zip(names, call.args))
        given.update(self._keywords(call, names, "aggregation"))
        units = self._literal(given["units"], "units") if "units" in given else None
        if units is not None and units not in UNITS:
            self._fail(
                "PY_DECL", f"units must be one of {', '.join(UNITS)}, not {units!r}", given["units"]
            )
        labels = self._literal(given["labels"], "labels") if "labels" in given else None
        if labels is not None:
            if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
                self._fail("PY_DECL", "labels must be a list of strings", given["labels"])
            labels = tuple(labels)
        help_text = self._literal(given["help"], "help") if "help" in given else ""
        if not isinstance(help_text, str):
            self._fail("PY_DECL", "help must be a string", given["help"])
        return AggregationInfo(name, units, labels, help_text)

    def _param(self, name: str, call: py.Call) -> ParamSpec:
        keywords = self._keywords(call, ("type", "default", "help"), "param")
        positional = dict(zip(("type", "default", "help"), call.args))
        if len(call.args) > 3 or set(positional) & set(keywords):
            self._fail("PY_PARAM", "param(type, default=..., help=...)", call)
        given = {**positional, **keywords}
        kind_node = given.get("type")
        kind = self._param_type(kind_node) if kind_node is not None else None
        if kind is None:
            self._fail(
                "PY_PARAM",
                "param() needs a type: int, str, Duration or Identifier",
                kind_node or call,
            )
        default: int | str | None = None
        if "default" in given and not _is_none(given["default"]):
            raw = self._literal(given["default"], "a parameter's default")
            try:
                default = self._check_default(kind, raw)  # type: ignore[arg-type]
            except ValueError as err:
                self._fail("PY_PARAM", f"default of `{name}`: {err}", given["default"])
        help_text = self._literal(given["help"], "help") if "help" in given else ""
        if not isinstance(help_text, str):
            self._fail("PY_PARAM", "help must be a string", given["help"])
        return ParamSpec(name, kind, default, help_text, span=self._span(call))  # type: ignore[arg-type]

    def _param_type(self, node: py.expr) -> str | None:
        if isinstance(node, py.Name):
            if node.id == "int" and node.id not in self.symbols:
                return "int"
            if node.id == "str" and node.id not in self.symbols:
                return "string"
            resolved = self._api_name(node.id)
            if resolved == "Duration":
                return "duration"
            if resolved == "Identifier":
                return "identifier"
        return None

    @staticmethod
    def _check_default(kind: str, raw: Any) -> int | str:
        if kind in ("int", "duration") and isinstance(raw, int) and not isinstance(raw, bool):
            if kind == "duration" and raw < 0:
                raise ValueError("a duration cannot be negative")
            return parse_value("int", str(raw))
        if isinstance(raw, str) and kind != "int":
            return parse_value(kind, raw)
        raise ValueError(f"{raw!r} is not a valid {kind}")

    def _options(self, call: py.Call) -> None:
        if call.args:
            self._fail(
                "PY_DECL", 'options() takes keywords: options(quiet=True, bufsize="4m")', call
            )
        for keyword in call.keywords:
            if keyword.arg is None:
                self._fail("PY_DECL", "options() takes keywords", keyword)
            value = self._literal(keyword.value, "an option's value")
            words = ["D", "option"]
            if value is True:
                words.append(keyword.arg)  # type: ignore[arg-type]
            elif (
                isinstance(value, (int, str))
                and not isinstance(value, bool)
                and OPTION_VALUE_RE.fullmatch(str(value))
            ):
                words.append(f"{keyword.arg}={value}")
            else:
                self._fail(
                    "PY_DECL",
                    'an option\'s value is True, a number or a word such as "4m"',
                    keyword.value,
                )
                continue
            self.pragmas.append(A.Pragma(words, span=self._span(keyword)))

    def _meta(self, node: py.expr) -> dict[str, Any]:
        if (
            isinstance(node, py.Call)
            and isinstance(node.func, py.Name)
            and node.func.id == "dict"
            and not node.args
        ):
            items = {}
            for keyword in node.keywords:
                if keyword.arg is None:
                    self._fail("PY_META", "META = dict(name=..., ...) with keywords only", keyword)
                items[keyword.arg] = (
                    self._literal(keyword.value, f"META {keyword.arg}"),
                    keyword.value,
                )
        elif isinstance(node, py.Dict):
            items = {}
            for key_node, value_node in zip(node.keys, node.values):
                key = self._literal(key_node, "a META key") if key_node is not None else None
                if not isinstance(key, str):
                    self._fail("PY_META", "META keys are strings", key_node or node)
                items[key] = (self._literal(value_node, f"META {key}"), value_node)
        else:
            self._fail("PY_META", "META must be a dict literal or dict(...) of literals", node)
        meta: dict[str, Any] = {}
        for key, (value, where) in items.items():
            if key not in META_KEYS:
                self._fail(
                    "PY_META", f"unknown META key {key!r} (known: {', '.join(META_KEYS)})", where
                )
            problem = _meta_problem(key, value)
            if problem:
                self._fail("PY_META", f"META {key}: {problem}", where)
            meta[key] = value
        return meta

    def _finish_metadata(self) -> None:
        meta = self.metadata
        meta.setdefault("name", Path(self.filename).stem.replace("_", "-"))
        if "description" not in meta and self.docstring:
            meta["description"] = self.docstring.strip().splitlines()[0].strip()
        meta.setdefault("description", "")
        for key in ("units", "labels"):
            for agg in meta.get(key, {}):
                if agg not in self.aggregations:
                    self._error(
                        "PY_META",
                        f"META {key} names `{agg}`, which is not an aggregation",
                        self.meta_node,
                    )
        for agg, unit in meta.get("units", {}).items():
            info = self.aggregations.get(agg)
            if info is None:
                continue
            if info.units not in (None, unit):
                self._error(
                    "PY_META",
                    f"`{agg}` has units {info.units!r} and META says {unit!r}",
                    self.meta_node,
                )
            info.units = unit
        for agg, labels in meta.get("labels", {}).items():
            if agg in self.aggregations:
                self.aggregations[agg].labels = tuple(labels)
        meta["units"] = {n: i.units for n, i in self.aggregations.items() if i.units}
        meta["labels"] = {n: list(i.labels) for n, i in self.aggregations.items() if i.labels}

    # ------------------------------------------------------------------ parameters

    def _resolve_params(self, defines: dict[str, str]) -> dict[str, int | str]:
        declared = {p.name: p for p in self.params}
        for name in defines:
            if name not in declared:
                known = ", ".join(declared) or "none"
                raise UsageError(
                    f"-D {name}: {self.filename} has no parameter `{name}` (parameters: {known})"
                )
        values: dict[str, int | str] = {}
        for spec in self.params:
            if spec.name in defines:
                given = defines[spec.name]
                # Callers in Python may pass numbers; the command line always passes text.
                text = given if isinstance(given, str) else str(given)
                try:
                    values[spec.name] = parse_value(spec.type, text)
                except ValueError as err:
                    raise UsageError(f"-D {spec.name}: {err} (a {spec.type} parameter)") from None
            elif spec.default is not None:
                values[spec.name] = spec.default
            else:
                raise UsageError(
                    f"{self.filename} needs -D {spec.name}=VALUE ({spec.type}"
                    + (f": {spec.help}" if spec.help else "")
                    + ")"
                )
        return values

    # ------------------------------------------------------------------ names

    def _api_name(self, name: str) -> str | None:
        """The api name that ``name`` refers to, if any.

        D built-ins resolve even without an import (a linter will ask for it), unless the
        script defines the name itself.
        """
        symbol = self.symbols.get(name)
        if symbol is not None:
            return symbol.target if symbol.kind == "api" else None
        if name in api.__all__:
            return name
        return None

    def _api_call_name(self, call: py.Call) -> str | None:
        return self._api_name(call.func.id) if isinstance(call.func, py.Name) else None

    # ------------------------------------------------------------------ clauses

    def _clause(self, function: py.FunctionDef) -> A.Clause | None:
        try:
            probes, predicate = self._decorator(function)
        except _Skip:
            return None
        args = function.args
        if args.args or args.posonlyargs or args.kwonlyargs or args.vararg or args.kwarg:
            self._error(
                "PY_UNSUPPORTED",
                "a probe function takes no arguments",
                function.args.args[0] if args.args else function,
            )
        if function.returns is not None and not _is_none(function.returns):
            self._error(
                "PY_UNSUPPORTED",
                "a probe function returns nothing: `-> None` or no annotation",
                function.returns,
            )
        body = list(function.body)
        if body and _is_docstring(body[0]):
            body = body[1:]
        self.declared_global = set()
        return A.Clause(probes, predicate, self._statements(body), span=self._span(function))

    def _decorator(self, function: py.FunctionDef) -> tuple[list[A.ProbeDesc], A.Expr | None]:
        probe_calls = [
            d
            for d in function.decorator_list
            if isinstance(d, py.Call) and self._api_call_name(d) == "probe"
        ]
        others = [d for d in function.decorator_list if d not in probe_calls]
        if others:
            self._fail(
                "PY_UNSUPPORTED", "the only decorator a script knows is @probe(...)", others[0]
            )
        if not probe_calls:
            self._fail(
                "PY_UNSUPPORTED",
                f"function `{function.name}` has no @probe(...): D has no functions to call",
                function,
            )
        if len(probe_calls) > 1:
            self._fail(
                "PY_UNSUPPORTED",
                "one @probe(...) per function; list several descriptions in it",
                probe_calls[1],
            )
        call = probe_calls[0]
        if not call.args:
            self._fail("PY_PROBE", "@probe needs at least one probe description", call)
        probes = [self._probe_desc(arg) for arg in call.args]
        predicate = None
        for keyword in call.keywords:
            if keyword.arg != "when":
                self._fail("PY_PROBE", "@probe takes probe descriptions and when=", keyword)
            condition = keyword.value
            if isinstance(condition, py.Lambda):
                if (
                    condition.args.args
                    or condition.args.vararg
                    or condition.args.kwonlyargs
                    or condition.args.kwarg
                ):
                    self._fail(
                        "PY_PROBE",
                        "the predicate lambda takes no arguments: when=lambda: ...",
                        condition,
                    )
                condition = condition.body
            predicate = self._expr(condition)
        return probes, predicate

    def _probe_desc(self, node: py.expr) -> A.ProbeDesc:
        if not (isinstance(node, py.Constant) and isinstance(node.value, str)):
            self._fail(
                "PY_PROBE", 'a probe description is a string such as "syscall::read:entry"', node
            )
        text = re.sub(r"\{([^{}]*)\}", lambda m: self._placeholder(m.group(1), node), node.value)  # type: ignore[union-attr]
        if not text or not PROBE_DESC_RE.fullmatch(text) or not _d_reads_probe(text):
            self._fail(
                "PY_PROBE",
                f"{text!r} is not a probe description (provider:module:function:name)",
                node,
            )
        return A.ProbeDesc(text, span=self._span(node))

    def _placeholder(self, name: str, node: py.expr) -> str:
        symbol = self.symbols.get(name)
        if symbol is None or symbol.kind not in ("param", "const"):
            self._fail(
                "PY_PROBE",
                f"{{{name}}} in a probe description must name a parameter or constant",
                node,
            )
        value = symbol.value  # type: ignore[union-attr]
        kind = next((p.type for p in self.params if p.name == name), None)
        if kind == "duration":
            return format_duration(int(value))  # type: ignore[arg-type]
        if kind == "string" or (isinstance(value, str) and not IDENTIFIER_RE.fullmatch(value)):
            self._fail(
                "PY_PROBE",
                f"{{{name}}}: only int, Duration and Identifier values may appear in a probe description",
                node,
            )
        return str(value)

    # ------------------------------------------------------------------ statements

    def _statements(self, nodes: list[py.stmt]) -> list[A.Stmt]:
        out: list[A.Stmt] = []
        for node in nodes:
            try:
                out.extend(self._statement(node))
            except _Skip:
                pass
        return out

    def _statement(self, node: py.stmt) -> list[A.Stmt]:
        span = self._span(node)
        if isinstance(node, py.Pass):
            return []
        if isinstance(node, py.Expr):
            if _is_docstring(node):
                return []  # a string on its own is a comment
            if not isinstance(node.value, py.Call):
                self._fail(
                    "PY_UNSUPPORTED",
                    "this expression has no effect; a statement is an assignment or a call",
                    node,
                )
            return [A.ExprStmt(self._expr(node.value), span=span)]
        if isinstance(node, py.Assign):
            return [self._assign(node.targets, node.value, node)]
        if isinstance(node, py.AnnAssign):
            if node.value is None:
                self._fail(
                    "PY_UNSUPPORTED", "a declaration without a value means nothing in D", node
                )
            return [self._assign([node.target], node.value, node)]  # type: ignore[list-item]
        if isinstance(node, py.AugAssign):
            return [self._aug_assign(node)]
        if isinstance(node, py.Delete):
            return [self._delete(target) for target in node.targets]
        if isinstance(node, py.If):
            other = self._statements(node.orelse) if node.orelse else None
            return [A.If(self._expr(node.test), self._statements(node.body), other, span=span)]
        if isinstance(node, py.Global):
            for name in node.names:
                if self.symbols.get(name, _Symbol("")).kind != "global":
                    self._fail(
                        "PY_ASSIGN",
                        f"`{name}` is not declared at module level as `{name} = variable()`",
                        node,
                    )
                self.declared_global.add(name)
            return []
        what = _STATEMENT_NAMES.get(type(node), type(node).__name__)
        self._fail("PY_UNSUPPORTED", f"{what} is not supported in a probe clause", node)
        return []

    def _aggregation_target(self, target: py.expr) -> str | None:
        if isinstance(target, py.Subscript) and isinstance(target.value, py.Name):
            symbol = self.symbols.get(target.value.id)
            if symbol is not None and symbol.kind == "aggregation":
                return target.value.id
        return None

    def _assign(self, targets: list[py.expr], value_node: py.expr, node: py.stmt) -> A.Stmt:
        span = self._span(node)
        agg = self._aggregation_target(targets[0])
        if agg is not None:
            if len(targets) > 1:
                self._fail("PY_UNSUPPORTED", "an aggregation is assigned on its own", node)
            return self._agg_stmt(agg, targets[0], value_node, span)  # type: ignore[arg-type]
        value = self._expr(value_node)
        # `a = b = 0` is D's `a = b = 0`: assignments nest from the right.
        for target in reversed(targets):
            value = A.Assign("=", self._target(target), value, span=span)
        return A.ExprStmt(value, span=span)

    def _agg_stmt(
        self, name: str, target: py.Subscript, value: py.expr, span: A.Span | None
    ) -> A.Stmt:
        keys = self._keys(target.slice, empty_ok=True)
        func = self._api_call_name(value) if isinstance(value, py.Call) else None
        if func not in api.AGGREGATING_FUNCTIONS:
            self._fail(
                "PY_AGG",
                f"`{name}[...]` takes an aggregating function: "
                + ", ".join(f"{f}()" for f in sorted(api.AGGREGATING_FUNCTIONS)),
                value,
            )
        call: py.Call = value  # type: ignore[assignment]
        if call.keywords:
            self._fail("PY_AGG", f"{func}() takes positional arguments only", call.keywords[0])
        args = [self._expr(a) for a in call.args]
        return A.AggStmt(name, keys, func, args, span=span)  # type: ignore[arg-type]

    def _keys(self, index: py.expr, empty_ok: bool = False) -> list[A.Expr]:
        if isinstance(index, py.Tuple):
            if not index.elts and not empty_ok:
                self._fail(
                    "PY_UNSUPPORTED",
                    "an empty index `[()]` is only for aggregations without keys",
                    index,
                )
            return [self._expr(e) for e in index.elts]
        if isinstance(index, py.Slice):
            self._fail("PY_UNSUPPORTED", "slices are not D", index)
        return [self._expr(index)]

    def _target(self, target: py.expr) -> A.Expr:
        """An assignable place: self.x, this.x, a global, or an associative array element."""
        if isinstance(target, py.Attribute) and self._scope_of(target) in ("self", "this"):
            return self._expr(target)
        if isinstance(target, py.Subscript) and isinstance(target.value, py.Name):
            symbol = self.symbols.get(target.value.id)
            if symbol is not None and symbol.kind == "array":
                return self._expr(target)
        if (
            isinstance(target, py.Name)
            and self.symbols.get(target.id, _Symbol("")).kind == "global"
        ):
            if target.id not in self.declared_global:
                self._fail(
                    "PY_ASSIGN",
                    f"assigning `{target.id}` makes it a Python local: say `global {target.id}` first",
                    target,
                )
            return A.Ident(target.id, span=self._span(target))
        if isinstance(target, py.Name):
            self._fail(
                "PY_ASSIGN",
                f"`{target.id}` would be a Python local: write this.{target.id} (clause-local) or "
                f"self.{target.id} (thread-local)",
                target,
            )
        if self._aggregation_target(target) is not None:
            self._fail(
                "PY_AGG",
                "an aggregation takes `=` with an aggregating function, e.g. count()",
                target,
            )
        self._fail(
            "PY_ASSIGN",
            "a script assigns only self.x, this.x, variables and assoc_array elements",
            target,
        )
        raise AssertionError("unreachable")

    def _aug_assign(self, node: py.AugAssign) -> A.Stmt:
        op = _BINARY_OPS.get(type(node.op))
        if op is None:
            self._fail("PY_UNSUPPORTED", f"operator {type(node.op).__name__} is not D", node)
        if self._aggregation_target(node.target) is not None:
            self._fail(
                "PY_AGG", "aggregations take `agg[keys] = count()` or `= sum(x)`, not `+=`", node
            )
        target = self._target(node.target)
        span = self._span(node)
        return A.ExprStmt(A.Assign(op + "=", target, self._expr(node.value), span=span), span=span)  # type: ignore[operator]

    def _delete(self, target: py.expr) -> A.Stmt:
        """``del self.ts`` frees the variable: D does it by assigning zero."""
        if self._aggregation_target(target) is not None or (
            isinstance(target, py.Name)
            and self.symbols.get(target.id, _Symbol("")).kind == "aggregation"
        ):
            self._fail("PY_AGG", "clear(agg) or trunc(agg) empties an aggregation, not del", target)
        span = self._span(target)
        return A.ExprStmt(
            A.Assign("=", self._target(target), A.IntLit("0", span=span), span=span), span=span
        )

    # ------------------------------------------------------------------ expressions

    def _scope_of(self, node: py.Attribute) -> str | None:
        if isinstance(node.value, py.Name):
            resolved = self._api_name(node.value.id)
            if resolved in ("self", "this", "const"):
                return resolved
        return None

    def _expr(self, node: py.expr) -> A.Expr:
        method = getattr(self, "_expr_" + type(node).__name__, None)
        if method is None:
            self._fail(
                "PY_UNSUPPORTED", f"{_describe(node)} is not supported in a D expression", node
            )
        try:
            return method(node)  # type: ignore[misc]
        except RecursionError:
            self._fail("PY_UNSUPPORTED", "expression nested too deeply", node)
            raise AssertionError("unreachable") from None

    def _expr_Constant(self, node: py.Constant) -> A.Expr:
        return self._literal_expr(node.value, node)

    def _literal_expr(self, value: Any, node: py.AST) -> A.Expr:
        span = self._span(node)
        if isinstance(value, bool):
            return A.IntLit("1" if value else "0", span=span)
        if isinstance(value, int):
            if not INT64_MIN <= value <= UINT64_MAX:
                self._fail("PY_CONST", "integer does not fit in 64 bits", node)
            if value < 0:
                return A.Unary("-", A.IntLit(str(-value), span=span), span=span)
            return A.IntLit(self._int_spelling(value, node), span=span)
        if isinstance(value, str):
            return A.StrLit(A.encode_string(value), span=span)
        if isinstance(value, float):
            self._fail("PY_CONST", "D has no floating point: use integers (e.g. nanoseconds)", node)
        self._fail("PY_CONST", f"{type(value).__name__} constants are not D", node)
        raise AssertionError("unreachable")

    def _int_spelling(self, value: int, node: py.AST) -> str:
        """Keep a hexadecimal spelling (``0xff``) that D reads the same; else decimal."""
        text = py.get_source_segment(self.text, node) if hasattr(node, "lineno") else None
        if text and re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
            return text
        return str(value)

    def _expr_Name(self, node: py.Name) -> A.Expr:
        span = self._span(node)
        symbol = self.symbols.get(node.id)
        if symbol is not None and symbol.kind in ("param", "const"):
            return self._literal_expr(symbol.value, node)
        if symbol is not None and symbol.kind == "aggregation":
            self._fail(
                "PY_AGG",
                f"`{node.id}` is an aggregation: D cannot read its value; printa/clear/trunc take it",
                node,
            )
        if symbol is not None and symbol.kind == "array":
            self._fail(
                "PY_ASSIGN", f"`{node.id}` is an associative array: index it, {node.id}[key]", node
            )
        if symbol is not None and symbol.kind == "global":
            return A.Ident(node.id, span=span)
        resolved = self._api_name(node.id)
        if resolved in api.VARIABLES:
            return A.Ident(resolved, span=span)  # type: ignore[arg-type]
        if resolved in api.MACROS:
            return A.MacroArg(resolved, span=span)  # type: ignore[arg-type]
        if resolved in ("self", "this", "const"):
            self._fail("PY_UNSUPPORTED", f"{resolved} is a namespace: write {resolved}.name", node)
        if resolved is not None:
            self._fail("PY_UNSUPPORTED", f"`{node.id}` is a function: call it", node)
        if symbol is None and (node.id in LIBRARY_CONSTANTS or node.id in BUILTIN_VARIABLES):
            return A.Ident(node.id, span=span)  # known to D even if the api lags behind
        self._fail(
            "PY_NAME",
            f"unknown name `{node.id}`: not a D built-in, parameter, constant, aggregation or "
            "associative array of this script",
            node,
        )
        raise AssertionError("unreachable")

    def _expr_Attribute(self, node: py.Attribute) -> A.Expr:
        span = self._span(node)
        if not D_NAME_RE.fullmatch(node.attr):
            self._fail(
                "PY_NAME", f"`{node.attr}` is not a D name (ASCII letters, digits and _)", node
            )
        scope = self._scope_of(node)
        if scope == "self":
            return A.ThreadVar(node.attr, span=span)
        if scope == "this":
            return A.ClauseVar(node.attr, span=span)
        if scope == "const":
            if node.attr not in LIBRARY_CONSTANTS:
                self._fail("PY_NAME", f"`{node.attr}` is not a constant of the D libraries", node)
            return A.Ident(node.attr, span=span)
        # Most D values reached by name are pointers (curpsinfo, args[0], curthread...):
        # `.` is `->`; dot(value, "member") is the `.` of a struct held by value.
        return A.Member(self._expr(node.value), "->", node.attr, span=span)

    def _expr_Subscript(self, node: py.Subscript) -> A.Expr:
        if isinstance(node.value, py.Name):
            symbol = self.symbols.get(node.value.id)
            if symbol is not None and symbol.kind == "aggregation":
                self._fail(
                    "PY_AGG", f"`{node.value.id}` is an aggregation: D cannot read its values", node
                )
            if symbol is not None and symbol.kind == "array":
                base: A.Expr = A.Ident(node.value.id, span=self._span(node.value))
                return A.Index(base, self._keys(node.slice), span=self._span(node))
        return A.Index(self._expr(node.value), self._keys(node.slice), span=self._span(node))

    def _expr_BinOp(self, node: py.BinOp) -> A.Expr:
        op = _BINARY_OPS.get(type(node.op))
        if op is None:
            self._fail("PY_UNSUPPORTED", f"operator {type(node.op).__name__} is not D", node)
        return A.Binary(op, self._expr(node.left), self._expr(node.right), span=self._span(node))  # type: ignore[arg-type]

    def _expr_UnaryOp(self, node: py.UnaryOp) -> A.Expr:
        if (
            isinstance(node.op, py.USub)
            and isinstance(node.operand, py.Constant)
            and isinstance(node.operand.value, int)
        ):
            return self._literal_expr(-node.operand.value, node)
        return A.Unary(_UNARY_OPS[type(node.op)], self._expr(node.operand), span=self._span(node))

    def _expr_BoolOp(self, node: py.BoolOp) -> A.Expr:
        op = "&&" if isinstance(node.op, py.And) else "||"
        result = self._expr(node.values[0])
        for value in node.values[1:]:
            result = A.Binary(op, result, self._expr(value), span=self._span(node))
        return result

    def _expr_Compare(self, node: py.Compare) -> A.Expr:
        # Python chains (a < b < c); D does not: a < b && b < c.
        parts: list[A.Expr] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            symbol = _COMPARE_OPS.get(type(op))
            if symbol is None:
                self._fail("PY_UNSUPPORTED", f"`{_compare_name(op)}` is not D: use == or !=", node)
            parts.append(
                A.Binary(symbol, self._expr(left), self._expr(right), span=self._span(node))
            )  # type: ignore[arg-type]
            left = right
        result = parts[0]
        for part in parts[1:]:
            result = A.Binary("&&", result, part, span=self._span(node))
        return result

    def _expr_IfExp(self, node: py.IfExp) -> A.Expr:
        return A.Ternary(
            self._expr(node.test),
            self._expr(node.body),
            self._expr(node.orelse),
            span=self._span(node),
        )

    def _expr_JoinedStr(self, node: py.JoinedStr) -> A.Expr:
        self._fail("PY_UNSUPPORTED", 'f-strings are not D: use printf("%s %d\\n", ...)', node)
        raise AssertionError("unreachable")

    def _expr_Call(self, node: py.Call) -> A.Expr:
        span = self._span(node)
        name = self._api_call_name(node)
        if name is None:
            callee = py.unparse(node.func)
            hint = " (printf or trace print in D)" if callee == "print" else ""
            self._fail(
                "PY_CALL",
                f"`{callee}` is not a D function{hint}: a clause calls only the D actions and "
                f"subroutines of {API_MODULE}",
                node.func,
            )
        if node.keywords:
            self._fail("PY_CALL", f"{name}() takes positional arguments only", node.keywords[0])
        if name in api.AGGREGATING_FUNCTIONS:
            self._fail(
                "PY_AGG",
                f"{name}() is an aggregating function: write agg[keys] = {name}(...)",
                node,
            )
        if name in api.OPERATORS:
            return self._operator(name, node)  # type: ignore[arg-type]
        if name not in api.FUNCTIONS:
            self._fail("PY_CALL", f"`{name}` is not a function D can call in a clause", node.func)
        args = [self._argument(name, a) for a in node.args]  # type: ignore[arg-type]
        return A.Call(name, args, span=span)  # type: ignore[arg-type]

    def _argument(self, function: str, node: py.expr) -> A.Expr:
        if function in api.AGGREGATION_ACTIONS and isinstance(node, py.Name):
            symbol = self.symbols.get(node.id)
            if symbol is not None and symbol.kind == "aggregation":
                return A.AggRef(node.id, span=self._span(node))
        return self._expr(node)

    def _operator(self, name: str, node: py.Call) -> A.Expr:
        span = self._span(node)
        arity = {"cast": 2, "dot": 2, "deref": 1, "stringof": 1}[name]
        if len(node.args) != arity:
            self._fail(
                "PY_CALL", f"{name}() takes {arity} argument{'s' if arity > 1 else ''}", node
            )
        if name == "deref":
            return A.Unary("*", self._expr(node.args[0]), span=span)
        if name == "stringof":
            return A.StringOf(self._expr(node.args[0]), span=span)
        if name == "dot":
            member = node.args[1]
            if not (
                isinstance(member, py.Constant)
                and isinstance(member.value, str)
                and D_NAME_RE.fullmatch(member.value)
            ):
                self._fail("PY_CALL", 'dot(value, "member") names the member as a string', member)
            return A.Member(self._expr(node.args[0]), ".", member.value, span=span)  # type: ignore[union-attr]
        type_node = node.args[0]
        type_name = self._cast_type(type_node)
        return A.Cast(type_name, self._expr(node.args[1]), span=span)

    def _cast_type(self, node: py.expr) -> A.TypeName:
        text = node.value if isinstance(node, py.Constant) and isinstance(node.value, str) else None
        match = CAST_TYPE_RE.fullmatch(text or "")
        if text is None or match is None:
            self._fail(
                "PY_CALL",
                'cast("type", value) names a C type such as "int" or "struct file *"',
                node,
            )
        keyword, words, stars = match.groups()  # type: ignore[union-attr]
        words = " ".join(words.split())
        span = self._span(node)
        spec_name: str | A.StructSpec | A.EnumSpec
        if keyword in ("struct", "union"):
            spec_name = A.StructSpec(keyword, words, span=span)
        elif keyword == "enum":
            spec_name = A.EnumSpec(words, span=span)
        else:
            spec_name = words
        return A.TypeName(A.TypeSpec(spec_name, span=span), pointers=len(stars), span=span)


# --------------------------------------------------------------------------- small helpers


def _d_reads_probe(text: str) -> bool:
    """The D front end reads ``text`` back as this one probe description.

    The regex keeps out anything that could end a description; this catches what the D
    lexer reads differently (``1e9tcp:::send`` is a number, ``int`` a type name).
    """
    from .parser import parse

    try:
        program = parse(text + " {}", "<probe>")
    except DiagnosticError:
        return False
    clauses = program.clauses
    return (
        len(program.items) == 1
        and len(clauses) == 1
        and [p.text for p in clauses[0].probes] == [text]
    )


def _d_reads_name(kind: str, name: str) -> bool:
    """``name`` works in D as an aggregation, associative array or global variable.

    Python identifiers include D's type names and keywords (``string``, ``int``,
    ``inline``, ``size_t``...), which D would not read as variables.
    """
    from .parser import parse

    statement = {
        "aggregation": f"@{name} = count();",
        "assoc_array": f"{name}[0] = 0;",
        "variable": f"{name} = 0;",
    }[kind]
    try:
        program = parse(f"BEGIN {{ {statement} }}", "<name>")
    except DiagnosticError:
        return False
    body = program.clauses[0].body if len(program.clauses) == 1 else []
    if len(body) != 1:
        return False
    if isinstance(body[0], A.AggStmt):
        return body[0].name == name
    target = (
        body[0].expr.target
        if isinstance(body[0], A.ExprStmt) and isinstance(body[0].expr, A.Assign)
        else None
    )
    if isinstance(target, A.Index):
        target = target.base
    return isinstance(target, A.Ident) and target.name == name


def _is_docstring(node: py.stmt) -> bool:
    return (
        isinstance(node, py.Expr)
        and isinstance(node.value, py.Constant)
        and isinstance(node.value.value, str)
    )


def _is_none(node: py.expr) -> bool:
    return isinstance(node, py.Constant) and node.value is None


def _is_main_guard(node: py.If) -> bool:
    test = node.test
    return (
        isinstance(test, py.Compare)
        and isinstance(test.left, py.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], py.Constant)
        and test.comparators[0].value == "__main__"
    )


def _describe(node: py.AST) -> str:
    names = {
        "ListComp": "a list comprehension",
        "SetComp": "a set comprehension",
        "DictComp": "a dict comprehension",
        "GeneratorExp": "a generator expression",
        "Lambda": "a lambda",
        "List": "a list",
        "Tuple": "a tuple",
        "Dict": "a dict",
        "Set": "a set",
        "Await": "await",
        "Yield": "yield",
        "YieldFrom": "yield from",
        "NamedExpr": "`:=`",
        "Starred": "`*`",
        "Slice": "a slice",
        "FormattedValue": "an f-string",
    }
    return names.get(type(node).__name__, type(node).__name__)


def _compare_name(op: py.cmpop) -> str:
    return {py.Is: "is", py.IsNot: "is not", py.In: "in", py.NotIn: "not in"}.get(type(op), "?")


def _meta_problem(key: str, value: Any) -> str | None:
    if key in ("name", "area", "description"):
        return None if isinstance(value, str) else "must be a string"
    if key == "units":
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return "must map aggregation names to units"
        bad = [u for u in value.values() if u not in UNITS]
        return f"units must be {', '.join(UNITS)}, not {bad[0]!r}" if bad else None
    if key == "labels":
        ok = isinstance(value, dict) and all(
            isinstance(k, str)
            and isinstance(v, (list, tuple))
            and all(isinstance(x, str) for x in v)
            for k, v in value.items()
        )
        return None if ok else "must map aggregation names to lists of label names"
    if key == "platforms":
        if not isinstance(value, (list, tuple)) or not value:
            return f"must be a non-empty list of {', '.join(PLATFORMS)}"
        bad = [p for p in value if p not in PLATFORMS]
        return f"unknown platform {bad[0]!r} (known: {', '.join(PLATFORMS)})" if bad else None
    return None
