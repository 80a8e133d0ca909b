"""The class report (report.html) and the batch's notes in Brazilian Portuguese: every word
the page shows is asked of the catalogue and translated, the numbers are those of the
English page, and the English page is what it was."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from chatpeer import ROOT, load_module
from test_batch_fakes import make_result, verdict_result
from test_batch_report import check_page_matches_csv, class_gradebook, parse
from test_batch_report_figures import NOT_GRADED, RICH, rich_gradebook
from test_report_language import Lookups, full_result, translated_msgids

from grader import i18n
from grader.batch import class_matrix, class_report, class_sections, class_stats, report_text
from grader.batch.exports import ExportPlan, choose_plan, save_plan
from grader.batch.gradebook import Gradebook
from grader.batch.outputs import write_outputs
from grader.batch.parallel import BatchSummary
from grader.batch.roster import RosterMatch, match, parse_roster
from grader.batch.store import ResultStore
from grader.model import CheckResult, Level, Status, SubmissionResult

catalogues = load_module(ROOT / "scripts" / "update_catalogue.py", "update_catalogue_report")
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REPORT_MODULES = (class_report, class_sections, class_matrix, class_stats, report_text)
ROSTER = "folder,student_id,email,name\ns01,1,a@uni.br,Ana\nzoe,2,,Zoe\n"
# Sentences of the English page that must not be left in the Portuguese one.
ENGLISH = ("Statistics", "Score distribution", "Pass rate per check", "Per notebook step",
           "Failures that look alike", "Students × checks", "Checks against the rest",
           "Grading time", "Feedback per student", "What happened:", "Transcript (times",
           "Output of the program:", "Read next:", "back to the class", "not graded",
           "students by name", "checks by pass rate", "flaky or mis-weighted",
           "What the grader stopped", "Roster", "student(s)", "submission(s)", "generated ",
           "does not apply", "no student ran it", "timed: total", "--- server output ---",
           "--- client #2 screen ---")
PORTUGUESE = ('<html lang="pt-BR">', "<title>relatório da turma do chatlab</title>",
              "<h2 id=\"statistics\">Estatísticas</h2>", "<h2>Distribuição das notas</h2>",
              "<h2>Taxa de aprovação por verificação</h2>",
              '<h2 id="clusters">Falhas parecidas</h2>',
              '<h2 id="matrix-heading">Alunos × verificações</h2>',
              '<h2 id="grading-time">Tempo de correção</h2>',
              '<h2 id="students-heading">Alunos</h2>', "<h2>Feedback por aluno</h2>",
              "<b>O que aconteceu:</b>", "--- saída do servidor ---", "--- tela do cliente #2 ---",
              "instável ou com peso errado?", "alunos por nome", "s13 — não corrigida")


def stored(result: SubmissionResult) -> SubmissionResult:
    """``result`` as a batch reads it back from its results folder."""
    return SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())))


def odd_results() -> list[SubmissionResult]:
    """What the rest does not show: a step with no notebook, a failed check without a
    failure record, a grader version, a heading in a program's output."""
    odd = verdict_result("s15", "PPPPP", checks=[
        ("server.starts", 1, 1.0), ("server.broadcast", 4, 3.0), ("server.no_echo", 4, 2.0),
        ("server.leave_reset", 6, 2.0), ("custom.extra", 99, 1.0)])
    odd.grader_version = "9.9"
    odd.checks[-1] = CheckResult("custom.extra", "an extra check", Level.CORE, 99,
                                 Status.FAILED, 1.0, program_output=(
                                     "--- server output ---\nTraceback\n--- client #2 screen ---"
                                     "\nbye\n"))
    return [odd]


def discrimination_class() -> list[SubmissionResult]:
    """Every reason r can be undefined, one per check: nobody ran it, everyone passed,
    everyone failed, the rest of the score the same for everyone, one student ran it."""
    return [verdict_result(s, v, duration=1.0)
            for s, v in (("d1", "SPFPS"), ("d2", "SPFPS"), ("d3", "SPFMS"), ("d4", "SPFSP"))]


def class_of_every_kind(tmp_path: Path) -> tuple[Gradebook, RosterMatch]:
    """A class whose report shows every section and every sentence: every check and every
    kind of failure (the grader's own messages), stored and read back as a batch does;
    the rich class of the figures tests; students not graded; what the grader stopped."""
    results = [stored(full_result(tmp_path))]
    results += [verdict_result(s, v, duration=t, nick=("ana", "bob", "cid", "dan")[i % 4],
                               number=i) for i, (s, (v, t)) in enumerate(RICH.items())]
    results += odd_results()
    gradebook = Gradebook.build(results, NOT_GRADED,
                                events=["s02: the stored result was changed; restored"])
    roster = parse_roster(ROSTER, "roster.csv")
    return gradebook, match(roster, gradebook.students)


@pytest.fixture
def classes(tmp_path) -> dict[str, tuple[Gradebook, dict]]:
    """The classes whose reports, together, show every message of the class report, and
    how each report is asked for."""
    gradebook, roster = class_of_every_kind(tmp_path)
    passed = [make_result("ana"), make_result("ben", na={"server.history"})]
    return {
        "class": (gradebook, {"roster": roster, "similarity": "similarity.html"}),
        "nobody graded": (Gradebook.build([], {"a": "could not unpack"}), {}),
        "everyone passed": (Gradebook.build(passed), {}),
        "discrimination": (Gradebook.build(discrimination_class()), {}),
    }


def every_report(classes: dict[str, tuple[Gradebook, dict]]) -> dict[str, str]:
    """Each class's report in the language of the moment."""
    return {name: class_report.render_report(gradebook, generated=WHEN, **options)
            for name, (gradebook, options) in classes.items()}


def report_msgids() -> set[str]:
    """Every message marked in the class report's modules."""
    found = set()
    for module in REPORT_MODULES:
        path = Path(module.__file__)
        messages, mistakes = catalogues.scan_source(path.read_text("utf-8"), path.name)
        assert not mistakes
        found |= {m.msgid for m in messages}
    return found


def visible_text(html: str) -> str:
    html = re.sub(r"<(style|script)>.*?</\1>", "", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def numbers(html: str) -> Counter[str]:
    """Every number the page shows, with its unit sign; not those of the pass-rate
    chart's labels, a check's title cut to fit (where depends on the language)."""
    html = re.sub(r'<text x="5"[^>]*>[^<]*</text>', "", html)
    return Counter(re.findall(r"-?\d+(?:\.\d+)?%?", visible_text(html)))


def data_attributes(html: str) -> list[tuple[str, dict[str, str]]]:
    """Each element's data-* attributes and id, in page order."""
    return [(tag, {k: v for k, v in attrs.items() if k.startswith("data-") or k == "id"})
            for tag, attrs in parse(html).elements]


def test_the_class_report_in_portuguese_leaves_no_word_in_english(classes, language,
                                                                   monkeypatch):
    english = every_report(classes)
    lookups = Lookups(monkeypatch)
    i18n.set_language("pt_BR")
    portuguese = every_report(classes)
    missing = sorted(lookups.asked - translated_msgids("pt_BR") - {""})
    assert not missing, "shown in English:\n" + "\n".join(missing)
    unasked = sorted(report_msgids() - lookups.asked)
    assert not unasked, "never shown by these reports:\n" + "\n".join(unasked)
    page = portuguese["class"]
    for words in PORTUGUESE:
        assert words in page, words
    text = "\n".join(visible_text(html) for html in portuguese.values())
    for words in ENGLISH:
        assert words not in text, words
    assert "Nenhum aluno corrigido: sem estatísticas." in portuguese["nobody graded"]
    assert "Nenhuma verificação falhou." in portuguese["everyone passed"]
    # the English page is the same before and after a page in Portuguese
    i18n.set_language("en")
    assert every_report(classes) == english
    assert '<html lang="en">' in english["class"]


def test_every_number_is_the_same_in_both_languages(classes, language):
    english = every_report(classes)
    i18n.set_language("pt_BR")
    portuguese = every_report(classes)
    for name in english:
        assert data_attributes(portuguese[name]) == data_attributes(english[name]), name
        assert numbers(portuguese[name]) == numbers(english[name]), name
    gradebook = rich_gradebook()
    check_page_matches_csv(class_report.render_report(gradebook), gradebook.to_csv())


def test_the_english_report_keeps_its_words(language):
    html = class_report.render_report(class_gradebook(), generated=WHEN)
    assert html.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                           "<title>chatlab class report</title>")
    for words in ("<p class=muted>generated 2026-03-02 09:30 UTC</p>",
                  "<h2>Score distribution</h2>", '<h2 id="statistics">Statistics</h2>',
                  "<th>check</th><th>title</th><th>level</th><th class=num>step</th>",
                  "<b>What happened:</b> bob received a different line",
                  '<h3>ivy — not graded</h3>', 'title="ana · server.starts: passed"',
                  '<span class="ng">? not graded</span>', "<td class=\"pass\">passed</td>"):
        assert words in html, words
    assert class_report.render_report(class_gradebook(), generated=WHEN,
                                       title="Lab 2") != html  # a title given is kept


def test_a_given_title_is_not_translated(language):
    i18n.set_language("pt_BR")
    html = class_report.render_report(Gradebook.build([]), title="Redes 2026.1")
    assert "<title>Redes 2026.1</title>" in html and '<html lang="pt-BR">' in html


def test_the_batch_notes_speak_portuguese(tmp_path, language, monkeypatch):
    """What a batch tells the instructor of its exports, on the console."""
    out = tmp_path / "results"
    store = ResultStore(out)
    store.prepare()
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("folder,student_id,email,name\nana,1,,Ana\nben,2,b@uni.br,Ben\n")
    plan = ExportPlan(["moodle", "canvas", "csv"], "Lab", str(roster_path))
    save_plan(store, plan)
    summary = BatchSummary(out, ["ana", "ben", "zoe"], 0, graded=["ana", "ben", "zoe"],
                           results={"ana": make_result("ana"),
                                    "ben": make_result("ben", na={"server.history"}),
                                    "zoe": make_result("zoe")})
    lookups = Lookups(monkeypatch)
    i18n.set_language("pt_BR")
    _, remembered = choose_plan(ResultStore(out), None, None, None)
    outputs = write_outputs(summary, out, parse_roster(roster_path.read_text()), plan)
    notes = [remembered, *outputs.notes]
    missing = sorted(lookups.asked - translated_msgids("pt_BR") - {""})
    assert not missing, "shown in English:\n" + "\n".join(missing)
    assert remembered.startswith("como na última execução nesta pasta: --export")
    assert any(n.startswith("moodle: a coluna Email address ficou de fora porque 1 aluno")
               for n in notes), notes
    assert any(n.startswith("canvas: o total de pontos possíveis é 7.5") for n in notes)
    assert any("1 aluno deixado de fora: zoe (fora da lista de alunos:" in n for n in notes)
    assert '<html lang="pt-BR">' in outputs.report.read_text(encoding="utf-8")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium or chromium-browser on PATH")
def test_the_portuguese_page_in_chromium_has_the_csv_numbers(tmp_path, language):
    from test_batch_browser import dump_dom

    from grader.batch.gradebook import write_csv

    gradebook = rich_gradebook()
    csv_text = write_csv(gradebook, tmp_path / "grades.csv").read_text(encoding="utf-8")
    doms = {}
    for lang in ("en", "pt_BR"):
        i18n.set_language(lang)
        page = class_report.write_report(gradebook, tmp_path / lang / "report.html")
        doms[lang] = dump_dom(page.resolve().as_uri() + "#matrix?students=score&checks=rate",
                              tmp_path / lang)
    assert '<html lang="pt-BR">' in doms["pt_BR"] and "Estatísticas" in doms["pt_BR"]
    check_page_matches_csv(doms["pt_BR"], csv_text)
    assert data_attributes(doms["pt_BR"]) == data_attributes(doms["en"])
