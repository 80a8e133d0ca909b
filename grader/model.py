"""The result model: what a grading run produced, independent of how it is shown.

Renderers (text, JSON, Gradescope, HTML, notebook) read these dataclasses; they never
run checks. Everything here round-trips through ``to_dict``/``from_dict`` so a batch
run can store one JSON file per student and reload it later.

The words for the student (titles, hints, reasons, failure messages, transcript notes)
are strings, often :class:`grader.messages.Text`: English as strings, translated by the
renderers. ``to_dict`` stores the English and, under ``"i18n"``, what translates it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from .messages import Text


class Status(StrEnum):
    """The verdict of one check."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # a check it depends on did not pass, or it was not selected
    NOT_APPLICABLE = "not_applicable"  # the protocol profile cannot express this check


class Level(StrEnum):
    """How central a check is to the assignment."""

    CORE = "core"  # the mission: broadcast, prefix, no replay, disconnects
    ROBUSTNESS = "robustness"
    EXTENSION = "extension"


class FailureKind(StrEnum):
    """Why a check failed, in one word; renderers word each kind for a beginner."""

    MISMATCH = "mismatch"  # a line arrived, but not the expected one
    MISSING = "missing"  # an expected line or event never came
    UNEXPECTED = "unexpected"  # something arrived that must not (echo, replay, duplicate)
    HUNG = "hung"  # the program stopped responding within the deadline
    TOO_SLOW = "too_slow"  # it answered, but far slower than the deadline allows
    CRASHED = "crashed"  # the process exited or printed a traceback
    RESOURCE_LIMIT = "resource_limit"  # memory, CPU time or process limit exceeded
    GRADER_ERROR = "grader_error"  # a bug in the grader itself, never the student's fault


@dataclass
class Failure:
    """What went wrong in a failed check."""

    kind: FailureKind
    message: str  # one sentence a beginner understands: what happened
    expected: str | None = None  # what the protocol required, when there is one value
    actual: str | None = None  # what the submission did instead


@dataclass
class TranscriptEntry:
    """One event of a check's scenario, for the student's transcript."""

    time: float  # seconds since the scenario started
    actor: str  # "alice", "server", "client", "grader", ...
    action: str  # "sent", "received", "closed", "reset", "connected", "stdout", "note", ...
    text: str = ""


@dataclass
class CheckResult:
    """The outcome of one check on one submission."""

    id: str  # stable identifier, e.g. "server.broadcast"; used by rubrics and gradebooks
    title: str  # the sentence the student sees, e.g. "a chat line reaches every other client"
    level: Level
    step: int  # the notebook step that teaches it (notebooks/NN_*.ipynb)
    status: Status
    max_points: float
    points: float = 0.0
    failure: Failure | None = None
    reason: str = ""  # why it was skipped or not applicable
    hint: str = ""  # what to read next: a notebook section, a protocol paragraph
    transcript: list[TranscriptEntry] = field(default_factory=list)
    program_output: str = ""  # tail of the submission's stdout/stderr (tracebacks), capped
    duration: float = 0.0  # seconds

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED


@dataclass
class SubmissionResult:
    """Every check's outcome for one submission."""

    submission: str  # folder name, or the student's identifier in a batch
    checks: list[CheckResult]
    duration: float = 0.0  # wall-clock seconds for the whole run
    profile: str = "chatlab"  # name of the protocol profile used
    grader_version: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. calibration, sandbox limits hit

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks if c.status is not Status.NOT_APPLICABLE)

    @property
    def all_passed(self) -> bool:
        """True when no selected check failed (skipped-by-selection counts as not run)."""
        return all(c.status in (Status.PASSED, Status.NOT_APPLICABLE) for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: the English words, and under ``"i18n"`` (a check's, its
        failure's, a transcript entry's) the messages that translate them."""
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        for check, stored in zip(self.checks, data["checks"], strict=True):
            _store_messages(check, ("title", "reason", "hint"), stored)
            if check.failure is not None:
                _store_messages(check.failure, ("message", "expected", "actual"),
                                stored["failure"])
            for entry, kept in zip(check.transcript, stored["transcript"], strict=True):
                _store_messages(entry, ("text",), kept)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        checks = []
        for c in data["checks"]:
            failure = c.get("failure")
            failure = _restored(failure) if failure else None
            c = _restored(c)
            checks.append(
                CheckResult(
                    id=c["id"],
                    title=c["title"],
                    level=Level(c["level"]),
                    step=c["step"],
                    status=Status(c["status"]),
                    max_points=c["max_points"],
                    points=c.get("points", 0.0),
                    failure=(
                        Failure(
                            kind=FailureKind(failure["kind"]),
                            message=failure["message"],
                            expected=failure.get("expected"),
                            actual=failure.get("actual"),
                        )
                        if failure
                        else None
                    ),
                    reason=c.get("reason", ""),
                    hint=c.get("hint", ""),
                    transcript=[TranscriptEntry(**_restored(e)) for e in c.get("transcript", [])],
                    program_output=c.get("program_output", ""),
                    duration=c.get("duration", 0.0),
                )
            )
        return cls(
            submission=data["submission"],
            checks=checks,
            duration=data.get("duration", 0.0),
            profile=data.get("profile", "chatlab"),
            grader_version=data.get("grader_version", ""),
            notes=list(data.get("notes", [])),
        )


I18N = "i18n"  # the key under which to_dict keeps the messages that translate the words


def _store_messages(obj: object, names: tuple[str, ...], stored: dict[str, Any]) -> None:
    messages = {name: value.to_dict() for name in names
                if isinstance(value := getattr(obj, name), Text)}
    if messages:
        stored[I18N] = messages


def _restored(stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` without its ``"i18n"`` entry, each word it translates a Text again."""
    messages = stored.get(I18N)
    if not messages:
        return {key: value for key, value in stored.items() if key != I18N}
    if not isinstance(messages, dict):
        raise ValueError(f"{I18N!r} must map field names to messages, not {messages!r}")
    restored = {key: value for key, value in stored.items() if key != I18N}
    for name, message in messages.items():
        if name not in restored:
            raise ValueError(f"{I18N!r} translates {name!r}, which the result does not have")
        restored[name] = Text.from_dict(message)
    return restored
