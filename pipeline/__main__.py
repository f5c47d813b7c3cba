"""``python -m pipeline``: see pipeline.startup and pipeline.cli."""

import sys

from pipeline.startup import main

sys.exit(main())
