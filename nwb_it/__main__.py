"""``python -m nwb_it``: the command line, as the ``nwb-it`` script."""
import sys

from .cli import main

sys.exit(main())
