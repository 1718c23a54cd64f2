"""Parse and check D scripts (and Python-authored ones).

Every file is reported, even after an error in an earlier one.
Exit status: 0 when all files parse and check, 1 when any has errors, 2 on usage errors.

examples:
  dtscope check iosnoop.d
  dtscope check -C -I include/ script.d
  echo 'syscall:::entry { @[execname] = count(); }' | dtscope check -
"""

from __future__ import annotations

import argparse
import sys

from dtscope.dscript.checks import check
from dtscope.dscript.diagnostics import DiagnosticError
from dtscope.errors import UserError
from dtscope.scripts import load_script


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="D (.d) or Python (.py) scripts, probe names, or - for stdin")
    parser.add_argument("-C", dest="cpp", action="store_true", default=None, help="run the C preprocessor first (as dtrace -C)")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="add DIR to the #include search path")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                        help="define a preprocessor macro (with -C) or a script parameter (.py)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing for files without problems")
    parser.add_argument("-W", "--warnings-as-errors", action="store_true", help="treat warnings as errors")


def run(args: argparse.Namespace) -> int:
    failed = False
    for spec in args.files:
        try:
            script = load_script(spec, args.defines, cpp=args.cpp, include_dirs=args.include_dirs, check=False)

            diagnostics = check(script.program)
        except DiagnosticError as err:
            print(err.format(), file=sys.stderr)
            failed = True
            continue
        except UserError as err:
            print(f"{spec}: error: {err}", file=sys.stderr)
            failed = True
            continue
        errors = [d for d in diagnostics if d.severity == "error" or args.warnings_as_errors]
        for diag in diagnostics:
            print(diag.format(script.sources), file=sys.stderr)
        if errors:
            failed = True
        elif not args.quiet:
            warn = len(diagnostics)
            print(f"{script.display_name}: ok" + (f" ({warn} warning{'s' if warn != 1 else ''})" if warn else ""))
    return 1 if failed else 0
