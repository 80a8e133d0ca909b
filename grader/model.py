"""The result model: what a grading run produced, independent of how it is shown.

Renderers (text, JSON, Gradescope, HTML, notebook) read these dataclasses; they never
run checks. Everything here round-trips through ``to_dict``/``from_dict`` so a batch
run can store one JSON file per student and reload it later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


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
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        checks = []
        for c in data["checks"]:
            failure = c.get("failure")
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
                    transcript=[TranscriptEntry(**e) for e in c.get("transcript", [])],
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
