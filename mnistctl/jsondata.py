"""Values made plain for JSON: strict JSON (no NaN or Infinity), paths and tuples as text and lists.

Every JSON document mnistctl writes or prints passes through ``plain``: a non-finite number
becomes null (the document says why beside it where that matters), so strict parsers read it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    if hasattr(value, "__float__"):
        return plain(float(value))
    raise TypeError(f"not JSON data: {type(value).__name__}")


def dumps(value: Any) -> str:
    """Indented, strict JSON text of ``value`` (non-finite numbers as null)."""
    return json.dumps(plain(value), indent=2, allow_nan=False)
