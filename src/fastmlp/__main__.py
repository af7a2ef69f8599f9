"""``python -m fastmlp``: the same as the ``fastmlp`` command (see :mod:`fastmlp.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
