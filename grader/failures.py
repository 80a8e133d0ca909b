"""The exceptions a check raises to fail, each mapped to one :class:`model.FailureKind`.

A check fails by raising one of these with a sentence a beginner understands::

    raise Mismatch("*** welcome ana", line, "The first line after the nickname was wrong.")

Anything else a check raises is a bug in the grader and is reported as ``grader_error``.
"""

from __future__ import annotations

from .model import Failure, FailureKind


class CheckFailure(Exception):
    """Base of every student-facing failure; carries what was expected and what happened."""

    kind: FailureKind = FailureKind.MISMATCH

    def __init__(
        self, message: str, *, expected: str | None = None, actual: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual

    def to_failure(self) -> Failure:
        return Failure(self.kind, self.message, self.expected, self.actual)


class Mismatch(CheckFailure):
    """A line arrived, but not the one the protocol requires."""

    kind = FailureKind.MISMATCH

    def __init__(self, expected: str, actual: str, message: str | None = None) -> None:
        super().__init__(
            message or "A line arrived, but it is not the one the protocol requires.",
            expected=expected,
            actual=actual,
        )


class Missing(CheckFailure):
    """Something expected (a line, a log entry, an exit) never came."""

    kind = FailureKind.MISSING

    def __init__(self, what: str, message: str | None = None, actual: str | None = None) -> None:
        super().__init__(message or f"Expected {what}, but it never came.", expected=what,
                         actual=actual)


class Unexpected(CheckFailure):
    """Something arrived that must not: an echo, a replay, a duplicate."""

    kind = FailureKind.UNEXPECTED

    def __init__(self, actual: str, message: str, expected: str | None = None) -> None:
        super().__init__(message, expected=expected, actual=actual)


class Hung(CheckFailure):
    """The program stopped responding: nothing happened before the deadline."""

    kind = FailureKind.HUNG


class TooSlow(CheckFailure):
    """The program answered, but far later than the deadline allows."""

    kind = FailureKind.TOO_SLOW


class Crashed(CheckFailure):
    """The program exited, or printed a traceback, in the middle of the scenario."""

    kind = FailureKind.CRASHED


class ResourceLimit(CheckFailure):
    """Threads, descriptors or CPU time grew beyond what the scenario justifies, or the
    sandbox stopped a program for going over one of its limits (memory, threads,
    processes, CPU time, output)."""

    kind = FailureKind.RESOURCE_LIMIT


class NotApplicable(Exception):  # noqa: N818 - a verdict, not an error
    """The protocol profile (or the environment) cannot express this check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
