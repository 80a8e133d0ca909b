"""A hostile protocol.py: its LineBuffer is wrong (it returns no line, ever), but on
import it prints report lines of its own with the test program's prefix (from its
command line): a program ready, the first case passed.

The grader must notice the lines twice and fail unit.line_buffer, saying why.
"""

import sys


class LineTooLong(Exception):
    pass


class LineBuffer:
    def feed(self, chunk):
        return []


if len(sys.argv) > 2:  # the report prefix the test program was given
    print(f'{sys.argv[2]} ready {{"line_too_long": false}}', flush=True)
    print(f'{sys.argv[2]} 0 {{"items": []}}', flush=True)
