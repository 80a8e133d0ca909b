"""A hostile server: print hundreds of megabytes.

Only ever run through grader.harness.sandbox; see tests/test_sandbox.py.
"""

import sys

line = "x" * (1024 * 1024 - 1) + "\n"
for _ in range(800):  # 800 MiB
    sys.stdout.write(line)
sys.stdout.flush()
