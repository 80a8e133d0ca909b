"""report.html in a real headless browser (Chromium from the system packages).

Skipped when no ``chromium`` or ``chromium-browser`` is on PATH; CI installs it with apt.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_batch_report import check_page_matches_csv, class_gradebook

from grader.batch.class_report import write_report
from grader.batch.gradebook import write_csv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = "no chromium or chromium-browser on PATH (apt-get install chromium)"


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_report_renders_in_chromium_with_the_csv_numbers(tmp_path: Path) -> None:
    gb = class_gradebook()
    csv_path = write_csv(gb, tmp_path / "grades.csv")
    page = write_report(gb, tmp_path / "report.html")
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # a network fetch could only fail
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<title>chatlab class report</title>" in dom, dom[:500]
    assert 'id="histogram"' in dom and 'id="pass-rates"' in dom
    check_page_matches_csv(dom, csv_path.read_text(encoding="utf-8"))
