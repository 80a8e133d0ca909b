"""A hostile server: appends to the renderers of the grader (found in the grader's
command line) code that makes every report perfect, then crashes. A grader that
imported its renderers only after grading would run that code.

Run only by tests/test_integrity_*.py, against a copy of the grader in a tmp folder
(forgelib.py acts only inside those folders).
"""

import forgelib

PATCH = '''

# ---- appended by a submission ----
def _forged(result, *args, **kwargs):
    import json
    return json.dumps({"score": 999.0, "max_score": 999.0, "checks": [], "tests": [],
                       "output": "FORGED BY THE SUBMISSION",
                       "notes": ["FORGED BY THE SUBMISSION"]})


render_json = render_gradescope = render_text = render_html = _forged
gradescope_results = lambda result, visibility="visible": {  # noqa: E731
    "score": 999.0, "tests": [], "output": "FORGED BY THE SUBMISSION"}
'''

for package in forgelib.grader_packages():
    for name in ("json.py", "gradescope.py", "text.py", "notebook.py"):
        forgelib.append(package / "render" / name, PATCH)
raise SystemExit("server: the renderers are patched")
