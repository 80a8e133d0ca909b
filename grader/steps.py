"""The course's steps: one number ties a notebook, its ``TODO(step NN)`` in ``lab/``, the
checks that verify it and their tests together. This is the one map from a step number
to its notebook; the tests check it against the ``notebooks/`` folder."""

from __future__ import annotations

NOTEBOOKS = {
    0: "00_tour", 1: "01_sockets", 2: "02_framing", 3: "03_threads", 4: "04_broadcast",
    5: "05_client", 6: "06_robustness", 7: "07_extensions",
}


def notebook(step: int) -> str:
    """The notebook that teaches ``step``, as a path from the project root."""
    return f"notebooks/{NOTEBOOKS[step]}.ipynb"
