"""A resolved spec becomes a Keras functional model, through the one layer table.

Arguments pass through as the spec gives them, made into what Keras takes by ``keras_kwargs``
(lists as tuples, integers as floats where the table says number), and each ``*_regularizer``
mapping into a Keras regularizer by ``ml/objects.py``; the only class looked up is the one the
table names for the spec's (schema-checked) type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnistctl.ml.objects import regularizer
from mnistctl.spec.kwargs import keras_kwargs
from mnistctl.spec.layers import LAYER_TYPES

if TYPE_CHECKING:
    import keras

    from mnistctl.spec import Spec


def build_model(spec: Spec, *, float32_output: bool = True) -> keras.Model:
    """Layer names, edges and arguments exactly as in the spec.

    With a mixed-precision global policy in force, ``float32_output`` keeps the output layer
    (softmax) in float32 so that the probabilities and the loss stay float32; so is a layer
    with an ``activity_regularizer``: Keras (3.15) adds its float16/bfloat16 penalty to the
    float32 loss without a cast, and training fails.
    """
    import keras

    mixed = keras.config.dtype_policy().name.startswith("mixed")
    tensors: dict[str, Any] = {}
    first = spec.layers[0]
    for layer in spec.layers:
        kind = LAYER_TYPES[layer.type]
        args = keras_kwargs(kind.arg_schemas, layer.args)
        for name in kind.regularizer_args:
            if name in args:
                args[name] = regularizer(args[name])
        if layer.type == "Input":
            tensors[layer.name] = keras.Input(shape=args["shape"], name=layer.name)
            continue
        if (float32_output and layer.name in spec.outputs) or (
            mixed and args.get("activity_regularizer") is not None
        ):
            args["dtype"] = "float32"
        cls = getattr(keras.layers, kind.name)
        inputs = [tensors[name] for name in layer.inputs]
        tensors[layer.name] = cls(name=layer.name, **args)(
            inputs if kind.max_inputs is None else inputs[0]
        )
    return keras.Model(inputs=tensors[first.name], outputs=tensors[spec.outputs[0]], name=spec.name)
