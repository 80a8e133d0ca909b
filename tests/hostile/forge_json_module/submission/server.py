"""A server that crashes at start: its honest grade is server.starts failed.

Its folder holds a json.py meant for the grader (see there).
"""

raise SystemExit("server: crashing on purpose")
