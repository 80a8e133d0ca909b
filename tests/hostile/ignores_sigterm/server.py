"""A hostile server: the program ignores SIGTERM and SIGINT and never ends.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

import signal
import threading

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("server: you cannot stop me", flush=True)
threading.Event().wait()
