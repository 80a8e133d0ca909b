"""A hostile server: the runaway loop: start threads without end, ignoring every failure.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

import threading

stop = threading.Event()
while True:
    try:
        threading.Thread(target=stop.wait, daemon=True).start()
    except (RuntimeError, MemoryError):  # "can't start new thread": try again, for ever
        pass
