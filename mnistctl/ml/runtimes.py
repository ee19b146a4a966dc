"""An exported model run in its own runtime, as an app, a phone or a server would run it.

One small class per format, all with the same face (``run``: float32 images in, probabilities
out; the input and output as the artifact declares them): a SavedModel through
``tf.saved_model.load`` (its ``serve`` endpoint), ONNX through onnxruntime's
``InferenceSession``, LiteRT through ``ai_edge_litert``'s ``Interpreter``. Keras is never used
here: what these classes answer is what the artifact itself computes.

``require`` checks, before any slow conversion, that the packages a format needs are installed;
a missing one is one line naming the ``pip install`` to run.
"""

from __future__ import annotations

import abc
import importlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from mnistctl.errors import Location, UserError

INSTALL_HINT = 'pip install "mnistctl[export]"'

# format -> (module to import, its distribution's name), for converting and for checking
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "saved_model": (),
    "onnx": (("tf2onnx", "tf2onnx"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime")),
    "litert": (("ai_edge_litert.interpreter", "ai-edge-litert"),),
}

# The packages whose versions an export records: the converter side, then the format's own.
VERSIONED: dict[str, tuple[str, ...]] = {
    "saved_model": ("tensorflow", "keras"),
    "onnx": ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"),
    "litert": ("tensorflow", "keras", "ai-edge-litert"),
}


def require(fmt: str) -> None:
    """Refuse in one line when a package ``fmt`` needs cannot be imported."""
    for module, dist in NEEDS[fmt]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # ImportError, or a broken install raising anything
            raise UserError(
                f"exporting to {fmt} needs the Python package '{dist}', which cannot be imported",
                Location(fmt),
                expected=f"'{dist}' installed",
                received=_first_line(exc),
                hint=INSTALL_HINT,
            ) from None


def versions(fmt: str) -> dict[str, str | None]:
    """The installed versions of the converter and runtime packages of ``fmt``."""
    out: dict[str, str | None] = {}
    for dist in VERSIONED[fmt]:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


@dataclass(frozen=True)
class TensorInfo:
    """An input or output as the artifact declares it (``None``: any size, the batch)."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


class Runtime(abc.ABC):
    """A loaded artifact: ``run`` takes float32 images shaped as the model's input (batch
    first) and returns one row of probabilities per image, as float32."""

    name: ClassVar[str]  # the runtime, in words
    input: TensorInfo
    output: TensorInfo

    @abc.abstractmethod
    def __init__(self, path: Path) -> None: ...

    @abc.abstractmethod
    def run(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...


class SavedModelRuntime(Runtime):
    """``tf.saved_model.load(path).serve``. The loaded object stays referenced here: TensorFlow
    deletes the variables of an object nobody holds, and ``serve`` then fails."""

    name = "tf.saved_model.load (TensorFlow)"

    def __init__(self, path: Path) -> None:
        import tensorflow as tf

        self._loaded = tf.saved_model.load(str(path))
        self._serve = self._loaded.serve
        signature = self._loaded.signatures["serving_default"]
        inputs = signature.structured_input_signature[1]
        outputs = signature.structured_outputs
        self.input = _tf_info(*next(iter(inputs.items())))
        self.output = _tf_info(*next(iter(outputs.items())))

    def run(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(self._serve(images), dtype=np.float32)


class OnnxRuntime(Runtime):
    """An onnxruntime ``InferenceSession`` on the CPU."""

    name = "onnxruntime InferenceSession (CPU)"

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        given, got = self._session.get_inputs()[0], self._session.get_outputs()[0]
        self.input = TensorInfo(given.name, _onnx_shape(given.shape), _onnx_dtype(given.type))
        self.output = TensorInfo(got.name, _onnx_shape(got.shape), _onnx_dtype(got.type))

    def run(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        (out, *_) = self._session.run(None, {self.input.name: images})
        return np.asarray(out, dtype=np.float32)


class LiteRtRuntime(Runtime):
    """``ai_edge_litert``'s ``Interpreter``; its input is resized to each batch's size (and the
    tensors allocated again) when the size changes."""

    name = "ai_edge_litert Interpreter"

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path))
        self._interpreter.allocate_tensors()
        given = self._interpreter.get_input_details()[0]
        got = self._interpreter.get_output_details()[0]
        self._in, self._out = int(given["index"]), int(got["index"])
        self._batch: int | None = None
        self.input = _litert_info(given)
        self.output = _litert_info(got)

    def run(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self._batch != len(images):
            self._interpreter.resize_tensor_input(self._in, list(images.shape))
            self._interpreter.allocate_tensors()
            self._batch = len(images)
        self._interpreter.set_tensor(self._in, images)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._out), dtype=np.float32)


RUNTIMES: dict[str, type[Runtime]] = {
    "saved_model": SavedModelRuntime,
    "onnx": OnnxRuntime,
    "litert": LiteRtRuntime,
}


def open_runtime(fmt: str, artifact: Path) -> Runtime:
    """The artifact loaded by its own runtime; a runtime that refuses it is a UserError."""
    try:
        return RUNTIMES[fmt](artifact)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            f"the exported {fmt} model does not load in its runtime",
            Location(str(artifact)),
            expected=f"an artifact that {RUNTIMES[fmt].name} accepts",
            received=_first_line(exc),
        ) from None


# --- what each runtime says about a tensor ------------------------------------------------------


def _tf_info(name: str, spec: Any) -> TensorInfo:
    shape = tuple(None if d is None else int(d) for d in spec.shape.as_list())
    return TensorInfo(str(name), shape, str(spec.dtype.name))


def _onnx_shape(shape: Sequence[Any]) -> tuple[int | None, ...]:
    return tuple(d if isinstance(d, int) else None for d in shape)


def _onnx_dtype(kind: str) -> str:
    """``tensor(float)`` -> ``float32``, as numpy names it."""
    inner = kind.removeprefix("tensor(").removesuffix(")")
    return {"float": "float32", "double": "float64", "float16": "float16"}.get(inner, inner)


def _litert_info(details: dict[str, Any]) -> TensorInfo:
    signature = details.get("shape_signature")
    dims = signature if signature is not None and len(signature) else details["shape"]
    shape = tuple(None if int(d) < 0 else int(d) for d in dims)
    return TensorInfo(str(details["name"]), shape, np.dtype(details["dtype"]).name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {line[:300]}" if line else type(exc).__name__
