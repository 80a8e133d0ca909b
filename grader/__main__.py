"""``python -m grader …`` is the same as the ``chatlab-grader`` command."""

import sys

from .cli import main

sys.exit(main())
