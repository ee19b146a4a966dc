"""The refusals of a user's picture that callers tell apart by their message: too large (bytes
or pixels, ``imageread.py``) and no digit in it (the preparation, ``digitprep.py``). The server
answers each with its own status (``serve/limits.py``)."""

from __future__ import annotations

from mnistctl.errors import UserError

__all__ = ["TOO_LARGE", "no_digit"]

TOO_LARGE = "image is too large"
"""The message of every refusal for size (bytes or pixels), so that callers can tell it apart."""

_NO_DIGIT_HINT = (
    "use a picture of one digit: dark writing on light paper or light writing on a dark "
    "background, filling a good part of the picture"
)


def no_digit(received: str) -> UserError:
    """The error for a picture in which no digit is found (without location)."""
    return UserError(
        "no digit found in the image",
        expected="one handwritten digit that stands out from the background",
        received=received,
        hint=_NO_DIGIT_HINT,
    )
