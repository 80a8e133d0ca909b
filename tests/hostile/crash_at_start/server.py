"""A hostile server: the program raises before doing anything.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

raise SystemExit("server: crashing on purpose before anything else")
