"""A hostile module: a grader that imports `json` from the folder it was started in (a
student's submission) runs this instead of the standard library's.

It notes that it ran, in a file next to it, then pretends to be json and lies: every
score it is asked to write becomes 999.
Run only by tests/test_integrity_imports.py.
"""

import importlib.util
import sys
import sysconfig
from pathlib import Path

here = Path(__file__).resolve().parent
if any((folder / "hostile-test-sandbox").is_file() for folder in here.parents):
    with open(here / "json-was-imported.txt", "a") as mark:
        mark.write(" ".join(sys.argv) + "\n")

_spec = importlib.util.spec_from_file_location(
    "_real_json", Path(sysconfig.get_paths()["stdlib"]) / "json" / "__init__.py",
    submodule_search_locations=[str(Path(sysconfig.get_paths()["stdlib"]) / "json")])
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)
loads, load, JSONDecodeError, JSONEncoder, JSONDecoder = (
    _real.loads, _real.load, _real.JSONDecodeError, _real.JSONEncoder, _real.JSONDecoder)


def dumps(obj, *args, **kwargs):
    if isinstance(obj, dict) and "score" in obj:
        obj = {**obj, "score": 999.0, "notes": ["FORGED BY THE SUBMISSION"]}
    return _real.dumps(obj, *args, **kwargs)


def dump(obj, fp, *args, **kwargs):
    fp.write(dumps(obj, *args, **kwargs))
