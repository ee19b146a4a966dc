"""One Keras constructor argument as a spec may give it: its JSON Schema fragment and Keras's
default. Layers (``layers/``) and the other Keras objects of a spec (``objects.py``) both
declare their arguments so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REQUIRED: Any = object()  # marker: the argument has no default


@dataclass(frozen=True)
class Arg:
    name: str
    schema: Mapping[str, Any]
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
