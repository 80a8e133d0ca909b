"""Which submissions share code: ``chatlab-grader similarity`` (optional extra).

Modules, one job each: :mod:`.sources` (students' ``.py`` files, found as ``batch`` finds
them), :mod:`.engine` (copydetect's fingerprints), :mod:`.compare` (who is compared with
whom, ranked), :mod:`.csv_out` and :mod:`.html_out` (the two outputs), :mod:`.command`
(the subcommand). Importing this package does not import copydetect.
"""

from .command import add_similarity_parser, run_similarity

__all__ = ["add_similarity_parser", "run_similarity"]
