"""Print D scripts in canonical form.

The canonical form is what dtscope's printer emits: one probe description per line,
the predicate on its own line, bodies indented with a tab, minimal parentheses.
Comments are not kept. With --check, print nothing and exit 1 when a file is not
canonical (for CI); with -w, rewrite files in place (atomically).

examples:
  dtscope fmt script.d
  dtscope fmt --check probes/*.d
"""

from __future__ import annotations

import argparse
import sys

from dtscope.collectors.model import atomic_write
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.dscript.parser import parse_file
from dtscope.dscript.printer import to_d
from dtscope.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="D scripts, or - for stdin")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is not in canonical form")
    parser.add_argument("-w", "--write", action="store_true", help="rewrite files in place")
    parser.add_argument("-C", dest="cpp", action="store_true", default=None, help="run the C preprocessor first")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")


def run(args: argparse.Namespace) -> int:
    if args.write and args.check:
        raise UsageError("--check and --write do not go together")
    status = 0
    for path in args.files:
        try:
            program = parse_file(path, cpp=args.cpp, include_dirs=args.include_dirs)
        except DiagnosticError as err:
            print(err.format(), file=sys.stderr)
            status = 1
            continue
        except OSError as err:
            print(f"{path}: error: cannot read: {err.strerror}", file=sys.stderr)
            status = 1
            continue
        text = to_d(program)
        if args.check or args.write:
            original = sys.stdin.read() if path == "-" else open(path, encoding="utf-8", errors="replace").read()
            body = original
            if original.startswith("#!"):
                shebang, _, body = original.partition("\n")
                text = shebang + "\n" + text
            if original != text:
                if args.check:
                    print(f"{path}: not in canonical form", file=sys.stderr)
                    status = 1
                else:
                    atomic_write(path, lambda fh: fh.write(text))
            continue
        sys.stdout.write(text)
    return status
