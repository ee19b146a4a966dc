"""A resolved spec becomes a Keras functional model, through the one layer table.

Arguments pass through as the spec gives them, made into what Keras takes by ``keras_kwargs``
(lists as tuples, integers as floats where the table says number); the only class looked up
is the one the table names for the spec's (schema-checked) type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnistctl.spec.kwargs import keras_kwargs
from mnistctl.spec.layers import LAYER_TYPES

if TYPE_CHECKING:
    import keras

    from mnistctl.spec import Spec


def build_model(spec: Spec, *, float32_output: bool = True) -> keras.Model:
    """Layer names, edges and arguments exactly as in the spec.

    With a mixed-precision global policy in force, ``float32_output`` keeps the output layer
    (softmax) in float32 so that the probabilities and the loss stay float32.
    """
    import keras

    tensors: dict[str, Any] = {}
    first = spec.layers[0]
    for layer in spec.layers:
        kind = LAYER_TYPES[layer.type]
        args = keras_kwargs(kind.arg_schemas, layer.args)
        if layer.type == "Input":
            tensors[layer.name] = keras.Input(shape=args["shape"], name=layer.name)
            continue
        if float32_output and layer.name in spec.outputs:
            args["dtype"] = "float32"
        cls = getattr(keras.layers, kind.name)
        inputs = [tensors[name] for name in layer.inputs]
        tensors[layer.name] = cls(name=layer.name, **args)(
            inputs if kind.max_inputs is None else inputs[0]
        )
    return keras.Model(inputs=tensors[first.name], outputs=tensors[spec.outputs[0]], name=spec.name)
