"""chatlab's black-box grader: real processes on loopback, driven by fake peers.

From a shell::

    python -m grader check lab/                 # every check, a table
    python -m grader check lab/ --only step:4   # one notebook step (and what it needs)
    python -m grader check lab/ --format gradescope --output results.json
    python -m grader check lab/ --format classroom      # or prairielearn
    python -m grader list                       # every check: id, step, level, points
    python -m grader check lab_pt_BR --lang pt_BR   # the report in Brazilian Portuguese

From Python (a notebook)::

    from grader.api import check, grade
    check(4)                                    # renders in the notebook
    result = grade("lab")                       # a grader.model.SubmissionResult

Where things are::

    cli.py, api.py     the command line (wiring only) and the programmatic face
    checks/            the checks, one module per topic, declared with @check (registry.py)
    runner.py          dependency order, skips with reasons, one check's life
    context.py         what a check gets: servers, fake peers, the student's client
    model.py           the result model; failures.py the ways a check fails
    i18n.py            the language (--lang, CHATLAB_LANG) and the catalogues in locale/;
                       messages.py the messages translated when shown (L_)
    timing.py          deadlines scaled to the machine; steps.py step -> notebook
    profile.py         the protocol (profiles/*.toml); rubric.py points (rubric.toml)
    visibility.py      when students see each check (the rubric's [visibility])
    streams.py         byte streams cut into lines, output tails (no I/O)
    tracebacks.py      a program's traceback shown once; an unwritten step named
    actors/            the other side: fake_client, fake_server, student_client, transcript
    harness/           running untrusted programs: isolation (a jail per program, a
                       loopback per run), sandbox (limits; SANDBOX.md), programs, ports,
                       interpreter, servers
    probes/            what the system says of a program: cpu, counts, tcp_queue
    render/            results as text, JSON, notebook HTML, and for Gradescope, GitHub
                       Classroom, PrairieLearn (docs/PLATFORMS.md); a student's view
    batch/             a whole class: discover, parallel, store, integrity, gradebook,
                       roster, exports (Moodle, Canvas, CSV), outputs, class_stats
                       (the report's figures), class_report, Gradescope package
    tools/             not grading: the load generator, the probe of a foreign server
    templates/         the GitHub Classroom workflow, the PrairieLearn entrypoint
"""

__version__ = "0.1.0"
