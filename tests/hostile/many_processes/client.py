"""A hostile client: fork children (fifty, a bounded fork bomb) that all live on.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

import os
import threading

for _ in range(50):
    if os.fork() == 0:
        break  # a child: stop forking, just live
threading.Event().wait()
