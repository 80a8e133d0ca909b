"""chatlab's black-box grader: real processes on loopback, driven by fake peers.

From a shell::

    python -m grader check lab/                 # every check, a table
    python -m grader check lab/ --only step:4   # one notebook step (and what it needs)
    python -m grader check lab/ --format gradescope --output results.json
    python -m grader list                       # every check: id, step, level, points

From Python (a notebook)::

    from grader.api import check, grade
    check(4)                                    # renders in the notebook
    result = grade("lab")                       # a grader.model.SubmissionResult

Where things are: checks in ``checks/`` (one module per topic, declared with
``@check(...)`` from ``registry.py``); what a check can use in ``context.py`` (servers,
raw-socket ``peers.py``, the student's client under a pty in ``client_session.py``,
``fake_server.py``); processes in ``procs.py``, every one of them started in the
sandbox (``sandbox.py``, ``SANDBOX.md``); white-box tests of the lab's classes in
``checks/units.py``, run in sandboxed subprocesses; ordering, skips and timeouts in
``runner.py``; deadlines in ``calibrate.py``; protocol details in a profile
(``profiles/``); points in a rubric (``rubric.toml``); output in ``render/``.
"""

__version__ = "0.1.0"
