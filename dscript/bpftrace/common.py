"""Small helpers every part of the bpftrace lowering shares: literals and D text."""

from __future__ import annotations

import errno as _errno
import os
import re
import signal as _signal
import socket as _socket

from .. import ast as A
from ..printer import DPrinter
from . import tables as T

_D_PRINTER = DPrinter()


def d_text(node: A.Node) -> str:
    """The D spelling of a node, for messages and key names."""
    if isinstance(node, A.Expr):
        return _D_PRINTER.expr(node)
    return type(node).__name__


def bt_string(value: str) -> str:
    """A bpftrace string literal (quotes included) holding exactly ``value``.

    bpftrace reads the same escapes as D, so D's spelling serves both.
    """
    return '"' + A.encode_string(value) + '"'


def int_literal(node: A.Expr | None) -> int | None:
    if isinstance(node, A.IntLit):
        return node.value
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, A.IntLit):
        return -node.operand.value
    if isinstance(node, A.Unary) and node.op == "+" and isinstance(node.operand, A.IntLit):
        return node.operand.value
    return None


def library_constant(name: str) -> int | None:
    """Values of the D library constants that mean the same on Linux (errno, signals...)."""
    if name in T.D_CONSTANTS:
        return T.D_CONSTANTS[name]
    if re.fullmatch(r"E[A-Z0-9]+", name) and hasattr(_errno, name):
        return int(getattr(_errno, name))
    if (
        re.fullmatch(r"SIG[A-Z0-9]+", name)
        and hasattr(_signal, name)
        and name not in ("SIG_DFL", "SIG_IGN")
    ):
        return int(getattr(_signal, name))
    if re.fullmatch(r"(AF|IPPROTO)_[A-Z0-9]+", name) and hasattr(_socket, name):
        return int(getattr(_socket, name))
    if re.fullmatch(r"O_[A-Z]+|SEEK_(SET|CUR|END)", name) and hasattr(os, name):
        return int(getattr(os, name))
    return {
        "NULL": 0,
        "TRUE": 1,
        "FALSE": 0,
        "B_TRUE": 1,
        "B_FALSE": 0,
        "NANOSEC": 1_000_000_000,
        "MICROSEC": 1_000_000,
        "MILLISEC": 1_000,
    }.get(name)

