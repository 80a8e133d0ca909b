"""JSON rendering: the result model as is (reload it with SubmissionResult.from_dict).

In a student's view only the checks they may see now are listed (and counted in
``score``/``max_score``); ``not_shown`` says how many others there are, what they are
worth and when each kind is shown.
"""

from __future__ import annotations

import json

from ..model import SubmissionResult
from ..visibility import Visibility
from .student_view import student_view, withheld_sentence


def render_json(result: SubmissionResult, visibility: Visibility | None = None) -> str:
    shown, withheld = student_view(result, visibility)
    data = shown.to_dict()
    if withheld.count:
        data["not_shown"] = {"count": withheld.count, "max_points": withheld.max_points,
                             "by_visibility": withheld.counts,
                             "message": withheld_sentence(withheld)}
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
