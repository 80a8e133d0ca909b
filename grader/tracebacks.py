"""What a program's traceback tells the student, shown once.

A failed check shows the submission's output; when a program printed a traceback it is
the most useful thing the student can read, so it must be there, and only once:

- :func:`unwritten_step` finds the skeleton's ``NotImplementedError: step NN: …``, which
  means the check could not run yet (it is skipped, naming the step, not failed);
- :func:`shorten_actual` keeps a failure's *Actual* to the traceback's last line when
  the whole traceback is in the program output anyway;
- :func:`fold_transcript` replaces the lines of a traceback in the transcript (a client
  prints it on its screen, line by line) with one entry pointing at the output.
"""

from __future__ import annotations

import re

from .messages import L_, CourseFile
from .model import TranscriptEntry
from .steps import NOTEBOOKS, notebook

TRACEBACK = "Traceback (most recent call last):"
STUB = re.compile(r"NotImplementedError: step (\d{1,2})\b")
# The line that ends a traceback: "ValueError: bad", "KeyboardInterrupt", "foo.Error: x".
LAST_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning|Iteration)"
                       r"\b.*$|^[A-Za-z_][\w.]*: ")


def unwritten_step(output: str) -> int | None:
    """The step whose stub raised, if the output shows the skeleton's NotImplementedError
    for a step the course has; None otherwise."""
    found = STUB.search(output)
    if found is None or int(found.group(1)) not in NOTEBOOKS:
        return None
    return int(found.group(1))


def unwritten_reason(step: int) -> str:
    """Why a check is skipped when ``step``'s stub raised."""
    return L_("step {step:02d} is not written yet — see {notebook}", step=step,
              notebook=CourseFile(notebook(step)))


def is_unwritten_reason(reason: str) -> bool:
    """Whether ``reason`` is :func:`unwritten_reason`'s."""
    return reason.startswith("step ") and " is not written yet — see " in reason


def last_line(traceback_text: str) -> str:
    """The exception line of the last traceback in ``traceback_text`` (or its last line)."""
    lines = [line.strip() for line in traceback_text[traceback_text.rfind(TRACEBACK):]
             .splitlines() if line.strip()]
    for line in reversed(lines):
        if LAST_LINE.match(line):
            return line
    return lines[-1] if lines else ""


def shorten_actual(actual: str | None, output: str) -> str | None:
    """``actual``, or only its traceback's last line when ``output`` holds it whole."""
    if not actual or TRACEBACK not in actual or TRACEBACK not in output:
        return actual
    return L_("{line} (the whole traceback is in the program output)",
              line=last_line(actual))


def fold_transcript(entries: list[TranscriptEntry]) -> list[TranscriptEntry]:
    """``entries`` with each printed traceback folded into one entry."""
    folded: list[TranscriptEntry] = []
    open_trace: TranscriptEntry | None = None
    for entry in entries:
        if open_trace is not None and entry.actor == open_trace.actor and entry.action == "printed":
            if LAST_LINE.match(entry.text.strip()) and not entry.text.startswith(" "):
                open_trace.text = L_("a traceback ending in {line} (see the program output)",
                                     line=repr(entry.text.strip()))
                open_trace = None
            continue
        if entry.action == "printed" and entry.text.strip() == TRACEBACK:
            open_trace = TranscriptEntry(entry.time, entry.actor, "printed",
                                         L_("a traceback (see the program output)"))
            folded.append(open_trace)
            continue
        open_trace = None
        folded.append(entry)
    return folded
