"""A hostile server: fork a grandchild that calls setsid() to leave the process group,
and lives on after its parent exits.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

import os
import threading

if os.fork() == 0:
    os.setsid()  # a new session: killpg() on our group no longer reaches it
    if os.fork() == 0:
        threading.Event().wait()  # the grandchild lives on
    os._exit(0)  # its parent exits: the grandchild is re-parented
print("server: grandchild started", flush=True)
threading.Event().wait()
