"""The `dtscope` command line.

Each subcommand lives in its own module under ``dtscope.commands`` and is imported
only when it runs, so ``dtscope check`` does not pay for pandas or textual.
A command module provides ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from dtscope.errors import UserError

# name -> (module, one-line help). The order is the order of `dtscope --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("dtscope.commands.check", "parse and check D (or Python-authored) scripts"),
    "fmt": ("dtscope.commands.fmt", "print a D script in canonical form"),
    "compile": ("dtscope.commands.compile", "compile a script to D or bpftrace"),
    "run": ("dtscope.commands.run", "run a script or probe and write its aggregations"),
    "top": ("dtscope.commands.top", "live terminal UI for latency triage"),
    "export": ("dtscope.commands.export", "serve probes and scripts as Prometheus metrics"),
    "flame": ("dtscope.commands.flame", "profile and render flame graphs"),
    "report": ("dtscope.commands.report", "render heat maps and tables from a saved run"),
    "probes": ("dtscope.commands.probes", "list the ready-made probe library"),
}

EPILOG = """examples:
  dtscope check script.d              parse and check a D script
  dtscope compile --target bpftrace script.d
  dtscope run syscall-latency --duration 10s -o run.jsonl
  dtscope top                         syscall latency by process, live
  dtscope probes --area zones
"""


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is what we want; keep its message short."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dtscope",
        description="dtscope: observability toolkit built on DTrace (and bpftrace on Linux).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name) if name == only else None
        doc = (module.__doc__ or help_text) if module else help_text
        p = sub.add_parser(
            name,
            help=help_text,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if module is not None:
            module.add_arguments(p)
    return parser


def _version() -> str:
    from dtscope import __version__

    return f"dtscope {__version__}"


def _command_name(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name = _command_name(argv)
    parser = build_parser(only=name)
    args, extra = parser.parse_known_args(argv)
    # A command with macro_args (run) takes the words after "--" as its script's $1 $2...
    # even when options come between the script and "--" (argparse leaves those over).
    tail = argv[argv.index("--"):] if "--" in argv else None
    if extra and tail is not None and hasattr(args, "macro_args") and extra in (tail, tail[1:]):
        args.macro_args = list(args.macro_args or []) + tail[1:]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not args.command:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except UserError as err:
        print(f"dtscope {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `dtscope fmt big.d | head` must not print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("DTSCOPE_DEBUG"):
            raise
        print(
            f"dtscope {args.command}: internal error: {type(err).__name__}: {err}\n"
            "(set DTSCOPE_DEBUG=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
