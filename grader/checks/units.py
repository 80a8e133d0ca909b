"""White-box checks: the lab's own building blocks, tested before the server exists.

A student who has finished step 02 (``LineBuffer.feed`` in ``protocol.py``) has no
server that registers and broadcasts yet, so every black-box framing check is skipped.
These checks test the class directly. The student's code is never imported into the
grader: a small test program (:data:`LINE_BUFFER_TEST`) runs in a sandboxed subprocess
with the submission folder on ``sys.path`` and prints one JSON verdict line.

Submissions that do not follow the lab's layout (another architecture, another
language: no ``protocol.py``, or no ``LineBuffer`` in it) get *not applicable*.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

from ..context import Context
from ..failures import Crashed, Hung, Mismatch, NotApplicable
from ..registry import check
from .common import hint

RESULT = "chatlab-unit-result "  # the verdict line's prefix
CASE = "chatlab-unit-case "  # printed before each case, so a hang names its case
RUN_SECONDS = 5.0  # the whole test program (Python start included) must end within this

LINE_BUFFER_TEST = r'''
import json, sys, traceback

RESULT, CASE = sys.argv[2], sys.argv[3]
sys.path.insert(0, sys.argv[1])


def report(**fields):
    print(RESULT + json.dumps(fields), flush=True)
    sys.exit(0)


def error_text(error):
    return f"{type(error).__name__}: {error}".rstrip(": ")


try:
    import protocol
except BaseException as error:
    report(verdict="error", case="importing protocol.py", error=error_text(error),
           trace=traceback.format_exc()[-1500:])
LineBuffer = protocol.LineBuffer
LineTooLong = getattr(protocol, "LineTooLong", None)
if not (isinstance(LineTooLong, type) and issubclass(LineTooLong, BaseException)):
    LineTooLong = None


def show(chunks):
    text = ", ".join(repr(chunk) for chunk in chunks[:8])
    return f"[{text}{', ...' if len(chunks) > 8 else ''}] ({len(chunks)} chunks)"


def short(value):
    text = repr(value)
    return text if len(text) <= 300 else text[:140] + " ... " + text[-140:]


def feed_all(chunks):
    buffer = LineBuffer()
    lines = []
    for chunk in chunks:
        got = buffer.feed(chunk)
        if got is None:
            raise TypeError("feed() returned None instead of a list of lines")
        lines.extend(got)
    return lines


def case(name, chunks, expected):
    print(CASE + name, flush=True)
    try:
        got = feed_all(chunks)
    except BaseException as error:
        report(verdict="error", case=name, fed=show(chunks), expected=short(expected),
               error=error_text(error), trace=traceback.format_exc()[-1500:])
    if got != expected or any(type(line) is not bytes for line in got):
        report(verdict="mismatch", case=name, fed=show(chunks), expected=short(expected),
               actual=short(got))


case("two lines in one chunk", [b"hello\nworld\n"], [b"hello", b"world"])
case("one line over many chunks", [b"hel", b"lo w", b"or", b"ld\n"], [b"hello world"])
line = b"one byte at a time\n"
case("one byte at a time", [line[i:i + 1] for i in range(len(line))], [line[:-1]])
text = "h\u00e9 \u20ac \U0001d11e".encode()
for cut in range(1, len(text) + 1):
    case(f"a UTF-8 line cut after byte {cut}", [text[:cut], text[cut:] + b"\n"], [text])
case("lines ending in \\r\\n", [b"one\r\ntwo\r\n"], [b"one", b"two"])
case("\\r\\n cut between \\r and \\n", [b"one\r", b"\ntwo\r\n"], [b"one", b"two"])
case("a line of 4096 bytes", [b"a" * 4000, b"a" * 96 + b"\n"], [b"a" * 4096])
if LineTooLong is not None:
    name = "a line of 4097 bytes (must raise LineTooLong)"
    print(CASE + name, flush=True)
    chunks = [b"a" * 4097 + b"\n"]
    try:
        got = feed_all(chunks)
    except LineTooLong:
        pass
    except BaseException as error:
        report(verdict="error", case=name, fed=show(chunks), expected="LineTooLong",
               error=error_text(error), trace=traceback.format_exc()[-1500:])
    else:
        report(verdict="mismatch", case=name, fed=show(chunks), expected="LineTooLong raised",
               actual=f"no exception; returned {short(got)}")
report(verdict="ok")
'''


def defines_line_buffer(folder: Path) -> str | None:
    """None if ``folder/protocol.py`` defines a class ``LineBuffer``, else why not.

    Read with :mod:`ast`, never imported: the grader does not run student code."""
    source = folder / "protocol.py"
    if not source.is_file():
        return "the submission has no protocol.py (this check tests the lab's LineBuffer)"
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError):
        return None  # the test program reports the error
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "LineBuffer":
            return None
    return "protocol.py defines no class LineBuffer (this check tests the lab's LineBuffer)"


@check("unit.line_buffer", step=2, points=1, cost=0.5,
       hint=hint("Decode whole lines", "§1", "Keep the bytes that came after the last"
                 " newline for the next feed(), and decode only whole lines."))
def line_buffer(ctx: Context) -> None:
    """`LineBuffer.feed` in protocol.py returns whole lines however the bytes are cut"""
    folder = ctx.submission.folder
    why = defines_line_buffer(folder)
    if why is not None:
        raise NotApplicable(why)
    argv = [ctx.submission.python, "-I", "-c", LINE_BUFFER_TEST, str(folder), RESULT, CASE]
    program = ctx.start_program(argv, folder, name="test program")
    deadline = time.monotonic() + ctx.timing.of(RUN_SECONDS)
    found = program.wait_line(f"^{RESULT}(.*)$", deadline)
    if found is None:
        program.wait_exit(0.2)
        cases = [line for line in program.output().splitlines() if line.startswith(CASE)]
        where = cases[-1][len(CASE):] if cases else "starting"
        status = program.poll()
        if status is not None:
            raise Crashed(f"The test of LineBuffer.feed stopped (status {status}) while"
                          f" testing: {where}.", expected="a verdict",
                          actual=program.output()[-800:] or f"exit status {status}")
        raise Hung(f"LineBuffer.feed did not return within {ctx.timing.of(RUN_SECONDS):.1f} s"
                   f" while testing: {where}. Is there a loop that never ends?",
                   expected="feed() returns", actual="still running")
    verdict = json.loads(found.group(1))
    if verdict["verdict"] == "ok":
        return
    ctx.transcript.add("grader", "note", f"case: {verdict['case']}")
    if "fed" in verdict:
        ctx.transcript.add("grader", "note", f"fed: {verdict['fed']}")
    if verdict["verdict"] == "mismatch":
        raise Mismatch(f"LineBuffer.feed, {verdict['case']}: the lines returned are wrong"
                       " (all the lines returned by successive feed() calls, as bytes"
                       " without the line ending).",
                       expected=verdict["expected"], actual=verdict["actual"])
    error = verdict["error"]
    if error.startswith("NotImplementedError"):
        message = (f"LineBuffer.feed raised {error}: TODO(step 02) in protocol.py is not"
                   " written yet.")
    elif verdict["case"] == "importing protocol.py":
        message = f"protocol.py could not be imported: {error}."
    else:
        message = f"LineBuffer.feed raised {error} ({verdict['case']})."
    raise Mismatch(message, expected=verdict.get("expected", "protocol.py imports"), actual=error)
