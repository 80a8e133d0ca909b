"""A hostile server: the program never listens (or connects) and never ends.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

import threading

threading.Event().wait()  # forever: no socket, no output
