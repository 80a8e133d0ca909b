"""A hostile server: allocate memory without end (and keep trying after MemoryError).

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

hoard = []
while True:
    try:
        hoard.append(bytearray(8 * 1024 * 1024))  # zero-filled: the pages are touched
    except MemoryError:  # at the limit: keep asking
        pass
