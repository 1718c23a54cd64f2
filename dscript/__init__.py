"""dtscope.dscript: the D language front end.

parse -> check -> lower: :func:`parse` builds the tree (:mod:`.ast`), :func:`check`
returns diagnostics, :func:`to_d` prints canonical D, and the targets lower it.
"""

from .ast import Program
from .diagnostics import Diagnostic, DiagnosticError

__all__ = ["Diagnostic", "DiagnosticError", "Program", "check", "parse", "parse_file", "to_d"]


def __getattr__(name):  # keep `import dtscope.dscript` cheap: lark loads on first parse
    if name in ("parse", "parse_file"):
        from . import parser

        return getattr(parser, name)
    if name == "check":
        from .checks import check

        return check
    if name == "to_d":
        from .printer import to_d

        return to_d
    raise AttributeError(name)
