"""`python -m gatesh` runs the gatesh front end (the same as the `gatesh` console script)."""

from __future__ import annotations

import sys

from .shell import main

if __name__ == "__main__":
    sys.exit(main())
