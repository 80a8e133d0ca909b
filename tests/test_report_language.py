"""A whole report in Brazilian Portuguese: every check, every kind of failure, every way
a check is skipped, rendered as text, HTML and Gradescope JSON, with no message left in
English. The failures are made by the grader's own code (fake peers on loopback, the
runner, the sandbox's words), not run against a submission."""

from __future__ import annotations

import json
import socket
from types import SimpleNamespace

from chatpeer import DEADLINE

from grader import i18n, runner, tracebacks
from grader.actors.fake_client import Peer
from grader.actors.transcript import Transcript
from grader.checks import all_checks
from grader.checks.units import defines_line_buffer
from grader.cli import main
from grader.context import WITHIN_LIMITS
from grader.failures import Mismatch, ResourceLimit
from grader.harness.programs import LIMITS, describe_limit
from grader.harness.sandbox import MEMORY_LIMIT
from grader.messages import L_
from grader.model import (
    CheckResult,
    Failure,
    FailureKind,
    Status,
    SubmissionResult,
    TranscriptEntry,
)
from grader.render import ACTION_WORDS, ACTOR_WORDS, KIND_WORDS
from grader.render.gradescope import gradescope_results
from grader.render.notebook import render_html
from grader.render.text import render_text
from grader.timing import Timing

QUICK = Timing(scale=0.02)  # a hung wait gives up after 0.06 s
ENGLISH = ("What happened", "Expected:", "Actual:", "Hint:", "Transcript", "Program output",
           "passed", "failed", "skipped", "Read notebooks", "wrong line", "waited",
           "the server", "the connection", "points")


def _raised(action) -> Failure:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the failure a check would raise
        return error.to_failure()
    raise AssertionError("it did not fail")


def peer_failures(transcript: Transcript) -> dict[FailureKind, Failure]:
    """What fake peers report, on a real loopback connection: a wrong line, nothing, a
    line where a close was due, a close where a line was due, and an answer too late."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(DEADLINE)
    try:
        ana = Peer("ana", transcript, QUICK).connect(*listener.getsockname())
        server, _ = listener.accept()
    finally:
        listener.close()
    with server:
        server.sendall(b"hello\n")
        found = {FailureKind.MISMATCH: _raised(lambda: ana.expect_line("*** welcome ana"))}
        found[FailureKind.HUNG] = _raised(lambda: ana.expect_line(what=L_("the welcome line")))
        server.sendall(b"one more\n")
        found[FailureKind.UNEXPECTED] = _raised(lambda: ana.expect_closed(
            L_("The server closes a connection whose nickname it refused.")))
        # Deadlines a line cannot meet: it is always too slow, never hung.
        ana.timing = Timing(scale=1e-9, patience=1e9 * DEADLINE)
        server.sendall(b"late\n")
        found[FailureKind.TOO_SLOW] = _raised(lambda: ana.expect_line("late"))
    ana.timing = QUICK
    found[FailureKind.MISSING] = _raised(lambda: ana.expect_line("*** welcome ana"))
    ana.close()
    return found


def every_failure(transcript: Transcript) -> dict[FailureKind, Failure]:
    found = peer_failures(transcript)
    dying = SimpleNamespace(program=SimpleNamespace(poll=lambda: 1))
    ctx = SimpleNamespace(closed=False, limit_exceeded=lambda: None,
                          crashed_server=lambda grace: dying)
    found[FailureKind.CRASHED] = runner._failure(ctx, Mismatch(
        L_("{name} expected {what} as its next line, but got another line.", name="bob",
           what=L_("the welcome line")), expected="'*** welcome bob'", actual="hi"))
    found[FailureKind.GRADER_ERROR] = runner._failure(ctx, RuntimeError("boom"))
    found[FailureKind.RESOURCE_LIMIT] = ResourceLimit(
        describe_limit(MEMORY_LIMIT, LIMITS, "server"), expected=WITHIN_LIMITS["server"],
        actual=MEMORY_LIMIT).to_failure()
    assert all(failure.kind is kind for kind, failure in found.items()), found
    return found


def full_result(tmp_path) -> SubmissionResult:
    """Every check once: the first ones fail, one of each kind; then every way to be
    skipped; one not applicable; the rest passed."""
    transcript = Transcript()
    failures = every_failure(transcript)
    assert set(failures) == set(FailureKind)
    specs = all_checks()
    titles = {spec.id: spec.title for spec in specs}
    failed = {spec.id: CheckResult(spec.id, spec.title, spec.level, spec.step, Status.FAILED,
                                   spec.points) for spec in specs}
    # server.starts, client.connects and any other check failed first.
    reasons = [runner._skip_reason(next(s for s in specs if s.id == skipped), failed, titles)
               for skipped in ("server.welcome", "client.nick_prompt", "server.prefix")]
    reasons.append(tracebacks.unwritten_reason(4))
    assert all(reasons)
    entries = transcript.entries() + [
        TranscriptEntry(0.5, actor, action, L_("the connection"))
        for actor in ACTOR_WORDS for action in ACTION_WORDS]
    entries.append(TranscriptEntry(0.6, "ana", "printed",
                                   tracebacks.fold_transcript([TranscriptEntry(
                                       0.6, "ana", "printed", tracebacks.TRACEBACK)])[0].text))
    results = []
    kinds = list(FailureKind)
    for index, spec in enumerate(specs):
        result = CheckResult(spec.id, spec.title, spec.level, spec.step, Status.PASSED,
                             spec.points, spec.points, hint=spec.hint)
        if index < len(kinds):
            result.status, result.points = Status.FAILED, 0.0
            result.failure = failures[kinds[index]]
            result.transcript = entries
            result.program_output = "Traceback (most recent call last):\nValueError: x\n"
        elif index < len(kinds) + len(reasons):
            result.status, result.points = Status.SKIPPED, 0.0
            result.reason = reasons[index - len(kinds)]
        elif index == len(kinds) + len(reasons):
            result.status, result.points = Status.NOT_APPLICABLE, 0.0
            result.reason = defines_line_buffer(tmp_path)
        results.append(result)
    return SubmissionResult("lab_pt_BR", results, duration=12.3)


class Lookups:
    """Every message the renderers asked the catalogue for."""

    def __init__(self, monkeypatch) -> None:
        self.asked: set[str] = set()
        real = i18n.translations
        lookups = self

        class Recorded:
            def __init__(self, catalogue) -> None:
                self.catalogue = catalogue

            def gettext(self, message: str) -> str:
                lookups.asked.add(message)
                return self.catalogue.gettext(message)

            def ngettext(self, singular: str, plural: str, n: int) -> str:
                lookups.asked.add(singular)
                return self.catalogue.ngettext(singular, plural, n)

        monkeypatch.setattr(i18n, "translations", lambda lang=None: Recorded(real(lang)))


def gradescope_words(data: dict) -> str:
    """What a student reads of results.json (not its keys and status values)."""
    return "\n".join([data["output"], *(f"{t['name']}\n{t['output']}" for t in data["tests"])])


def translated_msgids(lang: str) -> set[str]:
    po = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    return {e.msgid for e in i18n.parse_po(po.read_text("utf-8")) if e.msgid and e.translated}


def test_a_full_report_in_portuguese_leaves_no_message_in_english(tmp_path, language,
                                                                  monkeypatch):
    result = full_result(tmp_path)
    stored = SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())))
    english = render_text(result)
    lookups = Lookups(monkeypatch)
    i18n.set_language("pt_BR")
    reports = {
        "text": render_text(result),
        "html": render_html(result),
        "gradescope": gradescope_words(gradescope_results(result)),
        "stored": render_text(stored),
    }
    missing = sorted(lookups.asked - translated_msgids("pt_BR") - {""})
    assert not missing, "shown in English:\n" + "\n".join(missing)
    assert reports["stored"] == reports["text"]  # a stored result translates the same
    assert reports["text"] != english
    for name, report in reports.items():
        for words in ENGLISH:
            assert words not in report, (name, words)
    for spec in all_checks():  # every title, every hint was shown, in Portuguese
        assert spec.title in lookups.asked and spec.hint.msgid in lookups.asked
    assert set(KIND_WORDS.values()) <= lookups.asked
    assert "O que aconteceu (linha errada): ana esperava '*** welcome ana'" in reports["text"]
    assert "notebooks/pt_BR/" in reports["text"] and "PROTOCOL.pt_BR.md" in reports["text"]
    i18n.set_language("en")
    assert render_text(result) == english  # the same result, in English again


def test_the_cli_speaks_the_language_asked_and_refuses_an_unknown_one(language, capsys,
                                                                      tmp_path, monkeypatch):
    assert main(["check", str(tmp_path / "nowhere"), "--lang", "xx"]) == 2
    err = capsys.readouterr().err
    assert "--lang: no messages in 'xx'; languages: en, pt_BR" in err
    monkeypatch.setenv(i18n.ENV, "klingon")
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert "CHATLAB_LANG: no messages in 'klingon'; languages: en, pt_BR" in (
        capsys.readouterr().err)
    assert main(["batch", str(tmp_path / "nowhere"), "--lang", "xx"]) == 2
    assert "--lang: no messages in 'xx'" in capsys.readouterr().err
    monkeypatch.delenv(i18n.ENV)
    assert main(["check", str(tmp_path / "nowhere"), "--lang", "pt-BR"]) == 2
    assert i18n.language() == "pt_BR"  # chosen, then the folder was missing
    capsys.readouterr()
