"""White-box checks: the lab's own building blocks, tested before the server exists.

A student who has finished step 02 (``LineBuffer.feed`` in ``protocol.py``) has no
server that registers and broadcasts yet, so every black-box framing check is skipped.
These checks test the class directly. The student's code is never imported into the
grader: a small test program (:data:`LINE_BUFFER_TEST`) runs in a sandboxed subprocess
with the submission folder on ``sys.path``.

The test program reports only what it *observed*: for every case, what each
``feed()`` call returned or raised, for chunks the grader chose (random lines, cut at
random places, new on every run). The grader alone knows what each case expects and
decides the verdict. The test program runs in the same process as the student's code,
so nothing it prints can be trusted as a verdict: a ``protocol.py`` that prints a
"passed" line, or exits early, gains nothing (the observations are missing, or are
the student's own), and to print observations that pass it must split the grader's
random chunks into the right lines, which is what the check asks of ``LineBuffer``.

Submissions that do not follow the lab's layout (another architecture, another
language: no ``protocol.py``, or no ``LineBuffer`` in it) get *not applicable*.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..context import Context
from ..failures import Crashed, Hung, Mismatch, NotApplicable
from ..messages import L_
from ..registry import check
from .common import hint

OBSERVED = "chatlab-unit-observed"  # the prefix of the test program's report lines
RUN_SECONDS = 5.0  # the whole test program (Python start included) must end within this
MAX_LINE = 4096  # the longest line LineBuffer must accept (protocol.MAX_LINE_BYTES)
IMPORT = L_("importing protocol.py")

LINE_BUFFER_TEST = r'''
import base64, json, sys, traceback

OBSERVED = sys.argv[2]
CHUNKS = [[base64.b64decode(c) for c in case] for case in json.loads(sys.argv[3])]
ITEMS, ITEM_BYTES = 64, 8192  # what is reported of one case: enough to show a mistake
sys.path.insert(0, sys.argv[1])


def say(tag, **fields):
    print(f"{OBSERVED} {tag} {json.dumps(fields)}", flush=True)


def raised(error):
    text = f"{type(error).__name__}: {error}".rstrip(": ")
    return {"name": type(error).__name__, "text": text[:2000],
            "line_too_long": LineTooLong is not None and isinstance(error, LineTooLong),
            "trace": traceback.format_exc()[-1500:]}


def item(value):
    if type(value) is bytes:
        return {"bytes": base64.b64encode(value[:ITEM_BYTES]).decode(), "length": len(value)}
    text = repr(value)
    return {"type": type(value).__name__, "repr": text[:300]}


LineTooLong = None
try:
    import protocol
    LineBuffer = protocol.LineBuffer
except BaseException as error:
    say("import", raised=raised(error))
    sys.exit(0)
candidate = getattr(protocol, "LineTooLong", None)
if isinstance(candidate, type) and issubclass(candidate, BaseException):
    LineTooLong = candidate
say("ready", line_too_long=LineTooLong is not None)
for index, chunks in enumerate(CHUNKS):
    seen = {"items": []}
    try:
        buffer = LineBuffer()
        for chunk in chunks:
            got = buffer.feed(chunk)
            if got is None:
                seen["returned"] = "None"
                break
            try:
                got = list(got)
            except TypeError:
                seen["returned"] = repr(got)[:300]
                break
            seen["items"] += [item(value) for value in got[:ITEMS - len(seen["items"])]]
    except BaseException as error:
        seen["raised"] = raised(error)
    say(str(index), **seen)
'''


@dataclass(frozen=True)
class Case:
    """One scenario: the chunks fed to a fresh LineBuffer, and what must come out."""

    name: str  # a message: what the case is, for the student
    chunks: list[bytes]
    lines: list[bytes] | None  # None: feed() must raise LineTooLong
    needs_line_too_long: bool = False  # tested only when protocol.py defines it


WORDS = ("ana", "bob", "hello", "chat", "line", "socket", "buffer", "world", "tcp", "ok")
WIDE = ("\u00e9", "\u00e7", "\u00e3", "\u20ac", "\u2713", "\U0001d11e", "\U0001f600")
LETTERS = bytes(b"abcdefghijklmnopqrstuvwxyz"[byte % 26] for byte in range(256))  # any byte -> a-z


def _line(rng: random.Random) -> bytes:
    """A short readable line that differs on every run, e.g. b'bob hello 4821'."""
    words = rng.sample(WORDS, rng.randint(2, 3))
    return " ".join([*words, str(rng.randint(10, 9999))]).encode()


def _cut(data: bytes, rng: random.Random, pieces: int) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(pieces - 1, len(data) - 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def make_cases(rng: random.Random) -> list[Case]:
    """The scenarios of one run, from ``rng``: the same kinds every time, new bytes."""
    one, two = _line(rng), _line(rng)
    many = _line(rng) + b" " + _line(rng)
    slow = _line(rng)
    wide = " ".join(["h" + rng.choice(WIDE[:3]), *rng.sample(WIDE, 3)]).encode()
    long_line = rng.randbytes(MAX_LINE).translate(LETTERS)  # one call, not one per byte
    split = rng.randint(1, MAX_LINE - 1)
    cases = [
        Case(L_("two lines in one chunk"), [one + b"\n" + two + b"\n"], [one, two]),
        Case(L_("one line over many chunks"), _cut(many + b"\n", rng, 4), [many]),
        Case(L_("one byte at a time"), [bytes([b]) for b in slow + b"\n"], [slow]),
    ]
    cases += [Case(L_("a UTF-8 line cut after byte {cut}", cut=cut),
                   [wide[:cut], wide[cut:] + b"\n"], [wide]) for cut in range(1, len(wide) + 1)]
    cases += [
        Case(L_("lines ending in \\r\\n"), [one + b"\r\n" + two + b"\r\n"], [one, two]),
        Case(L_("\\r\\n cut between \\r and \\n"), [two + b"\r", b"\n" + one + b"\r\n"],
             [two, one]),
        Case(L_("a line of {size} bytes", size=MAX_LINE),
             [long_line[:split], long_line[split:] + b"\n"], [long_line]),
        Case(L_("a line of {size} bytes (must raise LineTooLong)", size=MAX_LINE + 1),
             [long_line + rng.choice(b"xyz").to_bytes(1, "big") + b"\n"], None,
             needs_line_too_long=True),
    ]
    return cases


def show(chunks: list[bytes]) -> str:
    """The chunks of a case as the student reads them (the first eight)."""
    text = ", ".join(repr(chunk) for chunk in chunks[:8])
    return f"[{text}{', ...' if len(chunks) > 8 else ''}] ({len(chunks)} chunks)"


def short(text: str) -> str:
    return text if len(text) <= 300 else text[:140] + " ... " + text[-140:]


def _shown(item: dict) -> str:
    """One returned value as Python would print it."""
    if "bytes" in item:
        data = _bytes(item)
        if data is None:
            return "<unreadable>"
        return repr(data) if item.get("length") == len(data) else repr(data)[:-1] + "...'"
    return str(item.get("repr", "?"))


def _bytes(item: dict) -> bytes | None:
    try:
        return base64.b64decode(str(item["bytes"]), validate=True)
    except (KeyError, ValueError, binascii.Error):
        return None


def returned(seen: dict) -> list[bytes] | None:
    """The lines a case's feed() calls returned, or None if not a list of whole bytes."""
    lines = []
    for item in seen.get("items", []):
        data = _bytes(item) if isinstance(item, dict) and "bytes" in item else None
        if data is None or item.get("length") != len(data):
            return None
        lines.append(data)
    return lines


class Observations:
    """The report lines of one run of the test program, read back by the grader."""

    def __init__(self, lines: list[str]) -> None:
        self.by_tag: dict[str, dict] = {}
        self.imitated = False  # a tag came twice: someone else prints report lines
        self.verdicts: list[str] = []  # lines that look like a test's verdict, not ours
        pattern = re.compile(rf"^{re.escape(OBSERVED)} (\S+) (.*)$")
        for line in lines:
            found = pattern.match(line)
            if found is None:
                if line.startswith("chatlab-unit-"):
                    self.verdicts.append(line)
                continue
            try:
                fields = json.loads(found.group(2))
            except ValueError:
                self.imitated = True
                continue
            if not isinstance(fields, dict) or found.group(1) in self.by_tag:
                self.imitated = True
                continue
            self.by_tag[found.group(1)] = fields


def defines_line_buffer(folder: Path) -> str | None:
    """None if ``folder/protocol.py`` defines a class ``LineBuffer``, else why not.

    Read with :mod:`ast`, never imported: the grader does not run student code."""
    source = folder / "protocol.py"
    if not source.is_file():
        return L_("the submission has no protocol.py (this check tests the lab's LineBuffer)")
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError):
        return None  # the test program reports the error
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "LineBuffer":
            return None
    return L_("protocol.py defines no class LineBuffer (this check tests the lab's"
              " LineBuffer)")


@check("unit.line_buffer", step=2, points=1, cost=0.5,
       hint=hint("Decode whole lines", "§1", "Keep the bytes that came after the last"
                 " newline for the next feed(), and decode only whole lines."))
def line_buffer(ctx: Context) -> None:
    """`LineBuffer.feed` in protocol.py returns whole lines however the bytes are cut"""
    folder = ctx.submission.folder
    why = defines_line_buffer(folder)
    if why is not None:
        raise NotApplicable(why)
    cases = make_cases(random.SystemRandom())
    chunks = json.dumps([[base64.b64encode(c).decode() for c in case.chunks]
                         for case in cases])
    argv = [ctx.submission.python, "-I", "-c", LINE_BUFFER_TEST, str(folder), OBSERVED, chunks]
    program = ctx.start_program(argv, folder, name="test program")
    limit = ctx.timing.of(RUN_SECONDS)
    deadline = time.monotonic() + limit
    status = program.wait_exit(deadline - time.monotonic())
    # Every line it printed is read once the output ends (a child may hold it open).
    program.wait_line("(?!)", min(deadline, time.monotonic() + 1.0))
    seen = Observations(program.lines())
    judge(ctx, cases, seen, status, program.output(), limit)


def judge(ctx: Context, cases: list[Case], seen: Observations, status: int | None,
          output: str, limit: float) -> None:
    """Fail the check (raise) unless every case's observation is what the case expects."""
    if seen.verdicts:
        ctx.transcript.add("grader", "note", L_("the program printed a line that looks like a"
                                                " test verdict ({value}); it counts for nothing:"
                                                " the grader compares what feed() returned with"
                                                " what each case expects",
                                                value=short(seen.verdicts[0])))
    if seen.imitated:
        raise Mismatch(L_("The test program's report lines were printed more than once: the code"
                          " it imported prints lines that imitate them, so the check cannot tell"
                          " what LineBuffer.feed returned. Remove those prints."),
                       expected=L_("one report line per case"), actual=short(output[-800:]))
    if "import" in seen.by_tag:
        error = seen.by_tag["import"].get("raised", {})
        _note(ctx, IMPORT, None)
        raise Mismatch(L_("protocol.py could not be imported: {error}.",
                          error=error.get("text", "?")),
                       expected=L_("protocol.py imports"), actual=str(error.get("text", "?")))
    ready = seen.by_tag.get("ready")
    line_too_long = bool(ready and ready.get("line_too_long"))
    for index, case in enumerate(cases):
        if case.needs_line_too_long and not line_too_long:
            continue
        observed = seen.by_tag.get(str(index)) if ready is not None else None
        if observed is None:
            where = case.name if ready is not None else IMPORT
            _note(ctx, where, case.chunks if ready is not None else None)
            if status is not None:
                raise Crashed(L_("The test of LineBuffer.feed stopped (status {status}) while"
                                 " testing: {where}.", status=status, where=where),
                              expected=L_("a result for every case"),
                              actual=output[-800:] or L_("exit status {status}", status=status))
            raise Hung(L_("LineBuffer.feed did not return within {limit:.1f} s while testing:"
                          " {where}. Is there a loop that never ends?", limit=limit, where=where),
                       expected=L_("feed() returns"), actual=L_("still running"))
        _compare(ctx, case, observed)


def _compare(ctx: Context, case: Case, seen: dict) -> None:
    """Raise Mismatch when ``seen`` (one case's observation) is not what ``case`` expects."""
    items = seen.get("items", [])
    items = items if isinstance(items, list) else []
    got = "[" + ", ".join(_shown(i) if isinstance(i, dict) else "?" for i in items) + "]"
    raised = seen.get("raised")
    raised = raised if isinstance(raised, dict) else None
    if case.lines is None:  # must raise LineTooLong
        if raised is not None and raised.get("line_too_long"):
            return
        _note(ctx, case.name, case.chunks)
        if raised is not None:
            error = str(raised.get("text", "?"))
            raise Mismatch(L_("LineBuffer.feed raised {error} ({case}).", error=error,
                              case=case.name),
                           expected="LineTooLong", actual=error)
        raise Mismatch(L_("LineBuffer.feed, {case}: the lines returned are wrong (all the lines"
                          " returned by successive feed() calls, as bytes without the line"
                          " ending).", case=case.name), expected=L_("LineTooLong raised"),
                       actual=L_("no exception; returned {lines}", lines=short(got)))
    expected = short(repr(case.lines))
    if raised is not None:
        _note(ctx, case.name, case.chunks)
        error = str(raised.get("text", "?"))
        if error.startswith("NotImplementedError"):
            message = L_("LineBuffer.feed raised {error}: TODO(step 02) in protocol.py is not"
                         " written yet.", error=error)
        else:
            message = L_("LineBuffer.feed raised {error} ({case}).", error=error, case=case.name)
        raise Mismatch(message, expected=expected, actual=error)
    if "returned" in seen:
        _note(ctx, case.name, case.chunks)
        what = str(seen["returned"])
        error = (L_("TypeError: feed() returned None instead of a list of lines")
                 if what == "None" else
                 L_("TypeError: feed() returned {value}, which is not a list of lines",
                    value=what))
        raise Mismatch(L_("LineBuffer.feed raised {error} ({case}).", error=error,
                          case=case.name), expected=expected, actual=error)
    if returned(seen) != case.lines:
        _note(ctx, case.name, case.chunks)
        raise Mismatch(L_("LineBuffer.feed, {case}: the lines returned are wrong (all the lines"
                          " returned by successive feed() calls, as bytes without the line"
                          " ending).", case=case.name), expected=expected, actual=short(got))


def _note(ctx: Context, case: str, chunks: list[bytes] | None) -> None:
    ctx.transcript.add("grader", "note", L_("case: {case}", case=case))
    if chunks is not None:
        ctx.transcript.add("grader", "note", L_("fed: {chunks}", chunks=show(chunks)))
