"""A hostile protocol.py: its LineBuffer is wrong (it returns no line, ever), but on
import it prints the line the old white-box test program printed when every case
passed.

The grader must decide from what feed() returned, and fail unit.line_buffer.
"""


class LineTooLong(Exception):
    pass


class LineBuffer:
    def feed(self, chunk):
        return []


print('chatlab-unit-result {"verdict": "ok"}', flush=True)
