"""``mnistctl export RUN --format saved_model|onnx|litert``: the run's model as a file for other
runtimes, checked before it is called done.

The run's model (``--checkpoint``) is exported in float32 through Keras's own ``model.export``
(``ml/exporting.py``) into a temporary folder beside the target, loaded there by its own runtime
(``ml/runtimes.py``) and run on the run's test set (the first ``--check-samples``); its
probabilities are compared with the float32 Keras model's (``ml/export_check.py``). Only an
export that passed is put in place (``export_files.py``), with ``export.json`` beside the
artifact: the check's numbers, sizes, the runtime's speed, versions, input and output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mnistctl.commands import export_files
from mnistctl.commands.common import open_run
from mnistctl.errors import Location, UserError
from mnistctl.ml import export_check, exporting, runtimes
from mnistctl.ml.export_check import Agreement, Speed
from mnistctl.ml.runtimes import TensorInfo
from mnistctl.runs.atomic import write_json
from mnistctl.runs.layout import Checkpoint

FORMAT_NAMES = tuple(exporting.FORMATS)


@dataclass(frozen=True)
class ExportResult:
    run_dir: Path
    name: str
    format: str
    folder: Path  # the export folder, holding the artifact and export.json
    artifact: Path  # model.onnx, model.tflite or the saved_model folder
    size_bytes: int
    checkpoint: Checkpoint
    check: Agreement
    speed: Speed
    runtime: str  # the runtime that ran the check, in words
    versions: dict[str, str | None]
    trained_precision: str
    exported_precision: str
    input: TensorInfo
    output: TensorInfo
    data_source: str
    data_sha256: str
    convert_seconds: float
    created: str  # UTC, ISO 8601
    classes: tuple[str, ...] = ()  # the class names, in the order of the output's entries
    prepare: str = "mnist_style"  # how a picture becomes the input (data.prepare)

    @property
    def saved_as(self) -> Path:
        return self.folder / export_files.EXPORT_JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "name": self.name,
            "format": self.format,
            "folder": str(self.folder),
            "artifact": str(self.artifact),
            "file": self.artifact.name,
            "size_bytes": self.size_bytes,
            "checkpoint": self.checkpoint.to_json(),
            "check": {
                **self.check.to_json(),
                "data": {"source": self.data_source, "sha256": self.data_sha256},
            },
            "speed": self.speed.to_json(),
            "runtime": self.runtime,
            "versions": self.versions,
            "precision": {"trained": self.trained_precision, "exported": self.exported_precision},
            "input": self.input.to_json(),
            "output": self.output.to_json(),
            "classes": list(self.classes),
            "preprocessing": {
                "prepare": self.prepare,
                "scale": "pixel / 255 (uint8 to 0..1)",
                "layout": "grey: height x width; RGB: height x width x 3",
            },
            "convert_seconds": self.convert_seconds,
            "created": self.created,
        }


def export_run(
    run_arg: Path,
    *,
    fmt: str,
    output: Path | None = None,
    checkpoint: str | None = None,
    check_samples: int | None = None,
    data: Path | None = None,
    runs_dir: Path | None = None,
) -> ExportResult:
    """Export, check, put in place; a failed check is a UserError and leaves nothing behind.

    ``check_samples``: the first N test images (None: all of them)."""
    form = _format(fmt)
    if check_samples is not None and check_samples < 1:
        raise UserError(
            "--check-samples must be at least 1",
            expected="a positive number of test images",
            received=str(check_samples),
        )
    opened = open_run(run_arg, runs_dir, checkpoint)
    target = (
        Path(output).absolute()
        if output is not None
        else export_files.default_folder(opened.run_dir, form.name, opened.checkpoint.suffix)
    )
    own = opened.run_dir / export_files.EXPORT_DIR  # the one folder of a run export writes in
    export_files.check_target(target, form.artifact, own)
    runtimes.require(form.name)  # before anything slow
    dataset = opened.load_data(data)
    n = len(dataset.x_test) if check_samples is None else min(check_samples, len(dataset.x_test))
    images = _scaled(dataset.x_test[:n], opened.spec.info.input_shape)
    trained = opened.load_model()
    model = exporting.inference_model(opened.spec, trained)
    reference = np.asarray(model.predict(images, batch_size=1024, verbose=0), dtype=np.float32)

    with export_files.building(target) as tmp:
        built = tmp / form.artifact
        start = time.perf_counter()
        exporting.write_artifact(model, form, built)
        convert_seconds = time.perf_counter() - start
        runtime = runtimes.open_runtime(form.name, built)
        agreement = export_check.compare(
            reference, export_check.run_batches(runtime, images), dataset.y_test[:n]
        )
        if not agreement.passed:
            raise UserError(
                f"the exported {form.name} model does not match the Keras model: "
                f"{agreement.problem()}; nothing was exported",
                Location(str(target)),
                hint="an earlier export in that folder is as it was",
            )
        result = ExportResult(
            run_dir=opened.run_dir,
            name=opened.spec.name,
            format=form.name,
            folder=target,
            artifact=target / form.artifact,
            size_bytes=exporting.artifact_size(built),
            checkpoint=opened.checkpoint,
            check=agreement,
            speed=export_check.measure(runtime, images),
            runtime=runtime.name,
            versions=runtimes.versions(form.name),
            trained_precision=exporting.trained_precision(trained),
            exported_precision=exporting.EXPORTED_PRECISION,
            input=runtime.input,
            output=runtime.output,
            classes=opened.spec.class_names,
            prepare=opened.spec.data.prepare or "mnist_style",
            data_source=dataset.source,
            data_sha256=dataset.sha256,
            convert_seconds=convert_seconds,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        write_json(tmp / export_files.EXPORT_JSON, result.to_json())
        export_files.put_in_place(tmp, target, form.artifact, own)
    return result


def _format(fmt: str) -> exporting.Format:
    if fmt not in exporting.FORMATS:
        raise UserError(
            "unknown export format",
            expected=" or ".join(FORMAT_NAMES),
            received=repr(fmt)[:40],
        )
    return exporting.FORMATS[fmt]


def _scaled(x: npt.NDArray[np.uint8], input_shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """Test images as the model reads them in training: 0..1, shaped as its input."""
    out = x.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.ascontiguousarray(out.reshape((len(x), *input_shape)))
