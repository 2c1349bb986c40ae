"""``python -m nwb_it.cli``: the command line, as the ``nwb-it`` script."""
import sys

from . import main

sys.exit(main())
