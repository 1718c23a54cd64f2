"""Errors that reach the user as a message and an exit code, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, missing tracer, missing privileges.

    ``exit_code`` follows the command-line convention: 1 for failures of the work
    itself (tracing errors, check errors), 2 for usage errors.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(UserError):
    def __init__(self, message: str):
        super().__init__(message, exit_code=2)
