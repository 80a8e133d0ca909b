"""Grading a whole class: many submissions, one gradebook, one report.

::

    python -m grader batch submissions/ --out results/       # grade every student
    python -m grader batch submissions/ --out results/ --roster roster.csv --export moodle
    python -m grader batch submissions/ --out results/ --student bob   # bob again
    python -m grader gradescope-package --out autograder.zip  # or let Gradescope do it

A batch run takes a folder with one sub-folder (or one ``.zip`` file) per student and
leaves in ``--out``::

    results/<student>.json   one SubmissionResult per graded student (sealed, atomic)
    errors/<student>.json    students that could not be graded (bad archive, grader
                             error, a grading that died or ran out of time)
    grades.csv               student, score, max, one column per check (graded only)
    errors.csv               student, reason: every student not graded
    report.html              the class report: statistics, distribution, steps,
                             pass rate per check, failure clusters, the student ×
                             check matrix, discrimination, grading time, feedback,
                             what the grader stopped
    batch.json               the settings the results were graded with
    .key                     the key of the results' seals (0600)
    exports/                 with --export: moodle.csv, canvas.csv, plain.csv, and
                             plan.json (what to export and the roster, sealed)

Modules, one job each:

- :mod:`.discover`  finds the students and unpacks their work safely;
- :mod:`.store`     the results folder: atomic writes, sealed results, what is graded;
- :mod:`.parallel`  grades in worker processes (one per student), only the parent writes;
- :mod:`.integrity` what keeps a grade the grader's own: imports done before any
  submission runs, leftover processes stopped, reports written from memory;
- :mod:`.progress`  the progress line on stderr;
- :mod:`.gradebook` and :mod:`.class_report` turn stored results into ``grades.csv`` and
  ``report.html``; :mod:`.class_stats` computes the report's figures (pure functions),
  :mod:`.class_sections` and :mod:`.class_matrix` write their HTML, :mod:`.report_text`
  holds their words;
- :mod:`.roster`    who each submission belongs to (``--roster``), checked before grading;
- :mod:`.exports`   the gradebook as Moodle, Canvas and a plain CSV import it, one small
  pure module per format;
- :mod:`.outputs`   writes those files at the end of a run, from the batch's memory;
- :mod:`.gradescope_package` and :mod:`.autograder` build and run a Gradescope autograder;
- :mod:`.commands`  the ``batch`` and ``gradescope-package`` subcommands.
"""

from .commands import add_batch_parser, add_gradescope_parser

__all__ = ["add_batch_parser", "add_gradescope_parser"]
