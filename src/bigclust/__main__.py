"""``python -m bigclust``: the command line (:mod:`bigclust.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
