"""A hostile server in a batch: reads the key of the results folder (found in the
batch's command line) and seals, with it, a grade of 0 for every classmate graded by an
earlier run; then crashes.

The seals verify (a program of the grader's own user can read the key), so the batch
must notice the change another way: it compares the files with what it read.
Run only by tests/test_integrity_batch.py (forgelib.py acts only inside its tmp folders).
"""

import hashlib
import hmac
import json
from pathlib import Path

import forgelib

found = forgelib.option("--out")
me = next((part.split("-")[1] for part in Path.cwd().parts if part.startswith("chatlab-")),
          "mallory")
if found and forgelib.allowed(found[1]):
    out = Path(found[1])
    key = bytes.fromhex((out / ".key").read_text().strip())
    for path in sorted((out / "results").glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("student") == me:
            continue
        for check in data["result"]["checks"]:
            check["points"], check["status"] = 0.0, "failed"
        data["result"]["score"] = 0.0
        body = {k: data[k] for k in ("student", "settings", "result")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data["digest"] = hmac.new(key, f"chatlab-result/1\0{canonical}".encode(),
                                  hashlib.sha256).hexdigest()
        forgelib.write(path, json.dumps(data))
raise SystemExit("server: the classmates' results are sealed again, with zeros")
