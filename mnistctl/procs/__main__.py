"""``python -P -m mnistctl.procs MODULE:FUNCTION TASKS ANSWERS``: a worker (see ``child.py``)."""

import sys

from mnistctl.procs.child import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
