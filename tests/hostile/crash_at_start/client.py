"""A hostile client: the program raises before doing anything.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

raise SystemExit("client: crashing on purpose before anything else")
