"""The console script's first step: Ctrl-C while the CLI is still importing exits quietly."""

from __future__ import annotations

import os
import sys

from mnistctl.phases import mark


def main() -> None:
    mark("python")  # the interpreter is up and this module imported
    try:
        from mnistctl.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        os._exit(130)
    mark("cli")
    cli_main()
