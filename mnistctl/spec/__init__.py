"""The spec language: YAML with positions, the layer table, the schema, graph and shape checks.

Never imports TensorFlow: ``validate``, ``summary`` and ``schema`` stay instant.
"""

from mnistctl.spec.loader import Spec, load_spec
from mnistctl.spec.model import LayerSpec

__all__ = ["LayerSpec", "Spec", "load_spec"]
