"""JSON rendering: the result model as is (reload it with SubmissionResult.from_dict)."""

from __future__ import annotations

import json

from ..model import SubmissionResult


def render_json(result: SubmissionResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
