"""The exceptions a check raises to fail, each mapped to one :class:`model.FailureKind`.

A check fails by raising one of these with a sentence a beginner understands::

    raise Mismatch("The first line after the nickname was wrong.",
                   expected="*** welcome ana", actual=line)

Anything else a check raises is a bug in the grader and is reported as ``grader_error``.
"""

from __future__ import annotations

from .model import Failure, FailureKind


class CheckFailure(Exception):
    """Base of every student-facing failure. Every kind is raised the same way::

        Kind(message, expected=..., actual=...)

    ``message`` is the sentence the student reads; ``expected`` and ``actual`` are shown
    beside it, whole, when there is one value for each."""

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
    """A value came (a line, an exit status), but not the one the protocol requires."""

    kind = FailureKind.MISMATCH


class Missing(CheckFailure):
    """Something expected (a line, a log entry, an exit) never came: the connection
    ended, or the program exited, first."""

    kind = FailureKind.MISSING


class Unexpected(CheckFailure):
    """Something arrived that must not: an echo, a replay, a duplicate, a line where the
    connection should have closed."""

    kind = FailureKind.UNEXPECTED


class Hung(CheckFailure):
    """The program stopped responding: nothing happened before the deadline (no line,
    no close, no exit)."""

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
