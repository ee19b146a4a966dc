"""What ``mnistctl explain`` is asked, checked before anything heavy loads: the CLI refuses a
request with nothing to explain at once, not after TensorFlow's start-up; ``explain_run``
(the API too) checks the same."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnistctl.errors import UserError


def check_request(images: Sequence[str | Path], test_n: int | None) -> None:
    """Refuse ``--test`` below 1, and a request with neither image files nor ``--test``."""
    if test_n is not None and test_n < 1:
        raise UserError(
            f"--test {test_n}: no test picture to explain",
            expected="--test N with N >= 1 (the first N test pictures)",
            received=str(test_n),
        )
    if not images and test_n is None:
        raise UserError(
            "nothing to explain",
            expected="image files (IMAGE...) or --test N",
            received="neither",
            hint="e.g. mnistctl explain RUN --test 5, or mnistctl explain RUN digit.png",
        )
