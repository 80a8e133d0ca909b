"""Tools for instructors that are not grading: :mod:`.load`, a load generator."""
