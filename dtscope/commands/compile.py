"""Compile a script (Python-authored, D, or a probe name) to D or to bpftrace.

The program is checked first; errors stop the compile (exit 1), warnings are shown.

targets (the table of dtscope.dscript.targets):
  d         canonical D (what `dtscope fmt` prints)
  illumos   D for illumos/SmartOS, FreeBSD and macOS dtrace
  oracle    D 2.0 for Oracle's DTrace for Linux (if/else lowered to predicates)
  bpftrace  a bpftrace program for this Linux host (its tracepoints and syscalls)

examples:
  dtscope compile examples/syscall_latency_by_zone.py
  dtscope compile examples/slow_syscalls.py -D threshold=5ms
  dtscope compile --target bpftrace script.d -o script.bt
  dtscope compile --target oracle script.d
"""

from __future__ import annotations

import argparse
import sys

from dtscope.collectors.linux_host import LinuxHost
from dtscope.collectors.model import atomic_write
from dtscope.dscript.checks import check
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.targets import TARGETS, generate
from dtscope.errors import UserError
from dtscope.scripts import load_script


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "script", metavar="FILE.py|FILE.d|PROBE", help="script or probe name (- for D on stdin)"
    )
    parser.add_argument(
        "--target", choices=list(TARGETS), default="d", help="language to print (default: d)"
    )
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter of a .py script or probe (a preprocessor macro for .d with -C)",
    )
    parser.add_argument(
        "-C",
        dest="cpp",
        action="store_true",
        default=None,
        help="run the C preprocessor on a .d script",
    )
    parser.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="#include search path (with -C)",
    )
    parser.add_argument(
        "-o",
        dest="output",
        metavar="OUT",
        help="write to OUT (atomically) instead of standard output",
    )


def run(args: argparse.Namespace) -> int:
    try:
        script = load_script(
            args.script, args.defines, cpp=args.cpp, include_dirs=args.include_dirs, check=False
        )
    except DiagnosticError as err:
        print(err.format(), file=sys.stderr)
        return 1
    if script.program is None:
        raise UserError(f"{args.script}: a saved run has no program to compile")
    diagnostics = check(script.program)
    for diagnostic in diagnostics:
        print(diagnostic.format(script.sources), file=sys.stderr)
    if any(d.severity == "error" for d in diagnostics):
        return 1
    try:
        text = generate(script.program, args.target, host=LinuxHost() if args.target == "bpftrace" else None)
    except DiagnosticError as err:
        print(err.format(), file=sys.stderr)
        return 1
    if args.output:
        try:
            atomic_write(args.output, lambda fh: fh.write(text))
        except OSError as err:
            raise UserError(f"cannot write {args.output}: {err.strerror or err}") from None
    else:
        sys.stdout.write(text)
    return 0
