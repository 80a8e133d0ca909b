"""``python -m grader …`` is the same as the ``chatlab-grader`` command.

The grader runs isolated from the folder it is started in: unless Python runs with
``-I`` already, the very first thing it does is start again as ``python -I`` (the same
process, :func:`os.execv`), with the grader's own folder named explicitly. Under ``-I``
neither the current folder nor ``PYTHON*`` variables nor the user's site-packages are
on the import path, so a ``json.py`` in the folder the grader was started from (a
student's submission, say) is never imported. Nothing but ``os`` and ``sys``, which
Python has loaded before any of this runs, is imported before that.
"""

import os
import sys


def isolate(args: list[str]) -> None:
    """Start again as ``python -I`` with ``args`` unless already isolated; on POSIX it
    does not return then. A no-op when Python already runs with ``-I``."""
    if sys.flags.isolated or "-I" in getattr(sys, "orig_argv", []):
        return
    package = os.path.dirname(os.path.abspath(__file__))
    # Where the grader was found, and where PYTHONPATH told Python to look (a grader
    # run from a checkout, its packages elsewhere): absolute folders only, never the
    # current one, which is what -I is for.
    here = os.getcwd()
    wanted = [os.path.dirname(package)] + [
        entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if os.path.isabs(entry) and os.path.abspath(entry) != here]
    code = (f"import sys; sys.path[:0] = {wanted!r};"
            " import grader.__main__ as entry; sys.exit(entry.run())")
    argv = [sys.executable, "-I", "-c", code, *args]
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)
    import subprocess  # Windows has no exec: run it, pass its exit status on

    sys.exit(subprocess.call(argv))


def run() -> int:
    """The command line, once isolated."""
    from .cli import main

    return main()


if __name__ == "__main__":
    isolate(sys.argv[1:])
    sys.exit(run())
