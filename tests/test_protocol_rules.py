"""docs/PROTOCOL_RULES.md, the checks and the broken submissions stay in step: every rule
row names real checks and broken submissions that those checks are asserted to catch,
every check and every broken submission has its row, and the figures add up."""

from __future__ import annotations

import re
from pathlib import Path

from submissions import make_broken
from test_grader_integration import CAUGHT_BY

from grader.checks import all_checks

RULES = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL_RULES.md"
ROW = re.compile(r"^\| (R\d\d) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$")
CHECK = re.compile(r"`((?:server|client|unit|e2e)\.[a-z0-9_]+)`")
BROKEN = re.compile(r"`(broken_[a-z0-9_]+)`")
FIGURES = re.compile(r"\*\*(\d+) rules, (\d+) checked, (\d+) not checked; (\d+) broken"
                     r" submissions, (\d+) of (\d+) caught\*\*")
# Checks that replay whole sessions and test no single rule (the §9 paragraph).
NO_SINGLE_RULE = {"e2e.chat", "e2e.client_with_reference_server",
                  "e2e.server_with_reference_client"}


def _text() -> str:
    return RULES.read_text(encoding="utf-8")


def _rows() -> list[tuple[str, list[str], list[str], str]]:
    """(id, checks, broken submissions, last cell) of every rule row."""
    rows = []
    for line in _text().splitlines():
        found = ROW.match(line)
        if found:
            rid, _, _, checks, last = found.groups()
            rows.append((rid, CHECK.findall(checks), BROKEN.findall(last), last.strip()))
    return rows


def test_rows_are_numbered_in_order() -> None:
    ids = [rid for rid, *_ in _rows()]
    assert ids == [f"R{i:02d}" for i in range(1, len(ids) + 1)]


def test_each_row_names_real_checks_and_catching_submissions() -> None:
    known = {spec.id for spec in all_checks()}
    mistakes = {m.folder for m in make_broken.MISTAKES}
    for rid, checks, brokens, last in _rows():
        assert set(checks) <= known, (rid, set(checks) - known)
        if not checks:
            assert last.startswith("not checked: ") and not brokens, rid
            continue
        assert brokens, f"{rid} has checks but no broken submission"
        for broken in brokens:
            assert broken in mistakes, (rid, broken)
            assert set(CAUGHT_BY[broken]) & set(checks), (
                f"{rid}: {broken} is asserted against {CAUGHT_BY[broken]}, none of {checks}")


def test_every_check_and_every_broken_submission_has_a_row() -> None:
    rows = _rows()
    named = {check for _, checks, _, _ in rows for check in checks}
    missing = {spec.id for spec in all_checks()} - named - NO_SINGLE_RULE
    assert not missing, f"checks with no rule row: {sorted(missing)}"
    for check in NO_SINGLE_RULE:
        assert f"`{check}`" in _text()
    used = {broken for _, _, brokens, _ in rows for broken in brokens}
    assert {m.folder for m in make_broken.MISTAKES} == used == set(CAUGHT_BY)


def test_the_figures_add_up() -> None:
    rows = _rows()
    checked = [r for r in rows if r[1]]
    brokens = {broken for _, _, names, _ in rows for broken in names}
    found = FIGURES.search(_text())
    assert found, "the figures sentence is missing"
    assert [int(n) for n in found.groups()] == [
        len(rows), len(checked), len(rows) - len(checked), len(brokens), len(brokens),
        len(brokens)]
