"""Grading a whole class: many submissions, one gradebook, one report.

::

    python -m grader batch submissions/ --out results/       # grade every student
    python -m grader gradescope-package --out autograder.zip  # or let Gradescope do it

A batch run takes a folder with one sub-folder (or one ``.zip`` file) per student and
leaves in ``--out``::

    results/<student>.json   one SubmissionResult per graded student (written atomically)
    errors/<student>.json    students that could not be graded (bad archive, grader crash)
    grades.csv               student, score, max, one column per check
    report.html              the class report: distribution, pass rate per check, feedback
    batch.json               the settings the results were graded with

Modules, one job each:

- :mod:`.discover`  finds the students and unpacks their work safely;
- :mod:`.store`     the results folder: atomic writes, what is already graded;
- :mod:`.parallel`    grades in parallel worker processes, resumes after an interruption;
- :mod:`.progress`  the progress line on stderr;
- :mod:`.gradebook` and :mod:`.class_report` turn stored results into ``grades.csv`` and
  ``report.html``;
- :mod:`.gradescope_package` and :mod:`.autograder` build and run a Gradescope autograder;
- :mod:`.commands`  the ``batch`` and ``gradescope-package`` subcommands.
"""

from .commands import add_batch_parser, add_gradescope_parser

__all__ = ["add_batch_parser", "add_gradescope_parser"]
