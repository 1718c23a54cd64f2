"""Render heat maps, rates and a top-keys table from a saved run.

examples:
  dtscope run syscall-latency --duration 1m --interval 5s -o run.jsonl
  dtscope report run.jsonl -o report.html      self-contained page (images embedded)
  dtscope report run.jsonl -o report.png       every panel in one image

For each histogram aggregation (quantize, lquantize, llquantize): a heat map of time
against bucket, shaded by count. For count, sum and histogram aggregations: the rate
per second of the top keys over time. Then the largest keys of every aggregation.
"""

from __future__ import annotations

import argparse
import os

from dtscope.collectors.model import atomic_write, read_jsonl
from dtscope.errors import UsageError, UserError
from dtscope.exporters import report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN.jsonl", help="a run saved by `dtscope run -o RUN.jsonl`")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="report.html or report.png")
    parser.add_argument("--format", choices=["html", "png"], help="default: by OUT's extension")
    parser.add_argument("--title", help="report title (default: the run's file name)")
    parser.add_argument("--top", type=int, default=10, help="keys per aggregation in the table (default 10)")
    parser.add_argument("--rate-keys", type=int, default=5, help="keys per rate plot (default 5)")


def run(args: argparse.Namespace) -> int:
    fmt = args.format or _format_from(args.output)
    if args.top < 1 or args.rate_keys < 1:
        raise UsageError("--top and --rate-keys must be at least 1")
    snapshots = _read_run(args.run)

    data = report.build(snapshots, args.title or os.path.basename(args.run), args.top, args.rate_keys)
    try:
        if fmt == "html":
            text = report.render_html(data)
            atomic_write(args.output, lambda fh: fh.write(text))
        else:
            png = report.render_png(data)
            atomic_write(args.output, lambda fh: fh.write(png), mode="wb")
    except OSError as err:
        raise UserError(f"cannot write {args.output}: {err.strerror}") from None
    return 0


def _format_from(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith((".html", ".htm")):
        return "html"
    if lowered.endswith(".png"):
        return "png"
    raise UsageError(f"cannot tell the output format from {path!r}: use .html or .png, or --format")


def _read_run(path: str) -> list:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            snapshots = list(read_jsonl(fh))
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    except ValueError as err:
        raise UserError(f"{path}: not a dtscope run: {err}") from None
    if not snapshots:
        raise UserError(f"{path}: the run is empty (no snapshots)")
    return snapshots
