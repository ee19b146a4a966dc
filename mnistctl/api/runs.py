"""Runs in the Python API: ``train``, ``resume``, ``open_run`` and the ``Run`` object."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from mnistctl.api.specs import Spec, api_spec
from mnistctl.errors import UserErrors
from mnistctl.spec import Spec as SpecLanguageSpec
from mnistctl.spec import load_spec as _load_spec

if TYPE_CHECKING:
    from mnistctl.api.groups import RunGroup
    from mnistctl.commands.evaluate import EvaluateResult
    from mnistctl.commands.explain import ExplainResult
    from mnistctl.commands.export import ExportResult
    from mnistctl.commands.predict import PredictResult
    from mnistctl.commands.train import TrainResult
    from mnistctl.runs.record import RunRecord

from mnistctl.api.arguments import path_items
from mnistctl.api.common import (
    ImageInput,
    PathArg,
    _data_path,
    _keras_policy_kept,
    _tensorflow,
    _user_errors,
)
from mnistctl.api.images import _image_items

CheckpointArg: TypeAlias = Literal["best", "last"] | None
"""Which model of a run: ``best`` (best.keras, its best epoch), ``last`` (model.keras, its last
epoch), or None: the one the run ends with (as Keras's fit: the best when EarlyStopping
restores the best weights), as the CLI's ``--checkpoint``."""

# --- training ----------------------------------------------------------------------------------


@overload
def train(
    spec: SpecLanguageSpec | PathArg,
    data: PathArg | None = None,
    runs_dir: PathArg = "runs",
    *,
    seeds: None = None,
) -> Run: ...
@overload
def train(
    spec: SpecLanguageSpec | PathArg,
    data: PathArg | None = None,
    runs_dir: PathArg = "runs",
    *,
    seeds: Sequence[int],
) -> RunGroup: ...
@_user_errors
def train(
    spec: SpecLanguageSpec | PathArg,
    data: PathArg | None = None,
    runs_dir: PathArg = "runs",
    *,
    seeds: Sequence[int] | None = None,
) -> Run | RunGroup:
    """Build, compile and fit ``spec`` (a loaded ``Spec`` or a spec file) as ``mnistctl train``
    does, into a new run directory under ``runs_dir``; returns the ``Run``. With ``seeds``
    (``[0, 1, 2]``), as ``train --seeds``: one run per seed, one after another, returned as a
    ``RunGroup`` (a sequence of ``Run`` with ``mean()``, ``sd()`` and ``summary``).

    ``data``: a local data set (a ``.npz`` or a folder of IDX files), as ``--data``; by default
    ``MNISTCTL_DATA``, else where the spec says. Progress goes to stderr as in the CLI (in
    Jupyter, into the cell's output). Ctrl-C (or the notebook's interrupt) stops after the batch
    in flight, keeps the finished epochs and raises ``KeyboardInterrupt``; ``resume()``
    continues the run.
    """
    if seeds is not None:
        from mnistctl.api.groups import train_group

        given = spec if isinstance(spec, SpecLanguageSpec) else Path(spec)
        return train_group(given, seeds, data, Path(runs_dir))
    loaded = spec if isinstance(spec, SpecLanguageSpec) else _load_spec(Path(spec), ())
    with _tensorflow(), _keras_policy_kept():
        from mnistctl.commands.train import train_loaded

        result = train_loaded(
            loaded, data=_data_path(data), runs_dir=Path(runs_dir), reporter=_reporter()
        )
    return _trained(result)


@_user_errors
def resume(run: Run | PathArg, data: PathArg | None = None, runs_dir: PathArg | None = None) -> Run:
    """Continue an interrupted or killed run until its spec's epochs are done, as
    ``mnistctl train --resume RUN`` (``run``: a Run, a run directory, or a spec meaning its
    latest run in ``runs_dir``). A finished run is returned as it is."""
    with _tensorflow(), _keras_policy_kept():
        from mnistctl.commands.train import resume_run

        result = resume_run(
            Path(run),
            runs_dir=Path(runs_dir) if runs_dir is not None else None,
            data=_data_path(data),
            reporter=_reporter(),
        )
    return _trained(result)


def _reporter() -> Any:
    """The CLI's progress display on stderr: live bars in a terminal, one line per epoch
    elsewhere (Jupyter included)."""
    from mnistctl.ui.console import stderr_console
    from mnistctl.ui.progress import make_reporter

    return make_reporter(stderr_console(), plain=False)


def _trained(result: TrainResult) -> Run:
    if result.status == "interrupted":
        raise KeyboardInterrupt(
            f"interrupted: {result.epochs_completed} epoch(s) kept in {result.run_dir}; "
            f"continue with mnistctl.resume({str(result.run_dir)!r})"
        )
    return Run(result.run_dir, training=result)


# --- runs --------------------------------------------------------------------------------------


@_user_errors
def open_run(path: PathArg, runs_dir: PathArg | None = None) -> Run:
    """A run: a run directory (or a file in one), or a spec file meaning its latest run in
    ``runs_dir`` (default ``runs/``), as the CLI's RUN argument. The run's files are checked
    when they are used."""
    from mnistctl.runs import layout
    from mnistctl.runs.record import RunRecord

    run_dir = layout.find_run(Path(path), Path(runs_dir) if runs_dir is not None else None)
    RunRecord.load(run_dir)  # a damaged record is refused now
    return Run(run_dir)


class Probabilities(np.ndarray[Any, np.dtype[np.float64]]):
    """Class probabilities, one row per image of one entry per class (an ``(N, classes)``
    float64 numpy array, ``(N, 10)`` for MNIST);
    ``labels`` is each row's most likely class."""

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        return np.asarray(np.asarray(self).argmax(axis=-1), dtype=np.int64)


class Run:
    """A run directory (``runs/<name>/<timestamp>/``): what training wrote, and the commands
    that use it. Every property reads the run's files as they are now.

    ``training`` is the ``TrainResult`` of the session that returned this Run (None for a Run
    from ``open_run``): precision, seconds, epochs run in that session.
    """

    @_user_errors
    def __init__(self, run_dir: PathArg, *, training: TrainResult | None = None) -> None:
        self._run_dir = Path(run_dir).resolve()
        self.training = training

    def __repr__(self) -> str:
        return f"Run({str(self._run_dir)!r})"

    def __fspath__(self) -> str:
        return str(self._run_dir)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other._run_dir == self._run_dir

    def __hash__(self) -> int:
        return hash(self._run_dir)

    @property
    def run_dir(self) -> Path:
        """The run directory (absolute)."""
        return self._run_dir

    def _existing(self) -> Path:
        """The run directory; one that is gone (or no longer a run's) is refused as the CLI
        refuses it, not read as an empty run."""
        from mnistctl.runs import layout

        if not (self._run_dir / layout.SPEC).is_file():
            layout.find_run(self._run_dir)  # raises the CLI's error for what is there now
        return self._run_dir

    def _record(self) -> RunRecord:
        from mnistctl.runs.record import RunRecord

        return RunRecord.load(self._existing())

    @property
    @_user_errors
    def status(self) -> str:
        """``created``, ``training``, ``completed``, ``interrupted``, ``failed`` or
        ``diverged``."""
        return self._record().status.value

    @property
    @_user_errors
    def spec(self) -> Spec:
        """The run's resolved spec (its ``spec.yaml``), refused if edited since the run wrote
        it."""
        from mnistctl.runs import layout

        return api_spec(layout.load_run_spec(self._existing()))

    @property
    def name(self) -> str:
        """The spec's name."""
        return self.spec.name

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names in label order: ``predict``'s column ``k`` is ``classes[k]``."""
        return self.spec.class_names

    @property
    @_user_errors
    def history(self) -> dict[str, list[float]]:
        """Per-epoch metrics, Keras style: ``{"loss": [...], "val_accuracy": [...], ...}``."""
        from mnistctl.runs import layout
        from mnistctl.runs.history import history_columns, read_history

        return history_columns(read_history(self._existing() / layout.HISTORY))

    @property
    @_user_errors
    def epochs_completed(self) -> int:
        return self._record().epochs_completed

    @property
    @_user_errors
    def metrics(self) -> dict[str, Any]:
        """The run record (``metrics.json``): status, final and test metrics, times, files."""
        return self._record().to_json()

    def _test(self, key: str) -> float | None:
        test = self.metrics.get("test")
        value = test.get(key) if isinstance(test, dict) else None
        return float(value) if isinstance(value, int | float) else None

    @property
    def test_accuracy(self) -> float | None:
        """The test-set accuracy recorded when training finished (None before)."""
        return self._test("accuracy")

    @property
    def test_loss(self) -> float | None:
        """The test-set loss recorded when training finished (None before)."""
        return self._test("loss")

    @_user_errors
    def evaluate(
        self, data: PathArg | None = None, *, save: bool = True, checkpoint: CheckpointArg = None
    ) -> EvaluateResult:
        """Test-set loss, accuracy, per-class metrics and confusion matrix, as ``mnistctl
        evaluate`` (``to_json()`` is its ``--json`` document). ``data`` as in ``train``; by
        default the data the run was trained on. ``checkpoint``: which model (``CheckpointArg``;
        ``.checkpoint`` of the result says which it was). ``save``: write ``evaluation.json``
        (``evaluation-best.json`` or ``evaluation-last.json`` for the model the run does not
        end with) into the run, as the CLI does."""
        with _tensorflow():
            from mnistctl.commands.evaluate import evaluate_run, save_evaluation

            result = evaluate_run(
                self._run_dir, data=_data_path(data), runs_dir=None, checkpoint=checkpoint
            )
        if save:
            save_evaluation(result)
        return result

    @_user_errors
    def predict(self, images: ImageInput, *, checkpoint: CheckpointArg = None) -> Probabilities:
        """The digit in each image: an ``(N, 10)`` array of probabilities (``.labels``: the
        most likely class of each).

        ``images``: image files (prepared as ``mnistctl predict`` prepares them: any picture of
        a digit is made MNIST-like), or 28x28 arrays already like MNIST's (uint8 0-255, or
        float 0-1; white on black), one, a stack (N x 28 x 28) or a list; scaled to 0-1 and
        shaped to the model's input as training does. ``checkpoint``: which model
        (``CheckpointArg``).
        """
        items = _image_items(images)
        with _tensorflow():
            if all(isinstance(item, Path) for item in items):
                from mnistctl.commands.predict import predict_images

                paths = [item for item in items if isinstance(item, Path)]
                return _probabilities(
                    predict_images(self._run_dir, paths, runs_dir=None, checkpoint=checkpoint)
                )
            return self._predict_digits(items, checkpoint)

    def _predict_digits(
        self, items: list[Path | npt.NDArray[np.float32]], checkpoint: CheckpointArg
    ) -> Probabilities:
        """Files and arrays together: the files prepared by ``predict``'s own preparation,
        then one batch through the run's model by ``predict``'s own code."""
        from mnistctl.commands.common import open_run as open_checked
        from mnistctl.commands.predict import predict_digits
        from mnistctl.data.imagesets import prepare_images

        opened = open_checked(self._run_dir, None, checkpoint)
        files = prepare_images(
            [item for item in items if isinstance(item, Path)], target=opened.spec.target
        )
        if files.errors:
            raise UserErrors(files.errors)
        prepared = iter(files.digits)
        digits = [next(prepared) if isinstance(item, Path) else item for item in items]
        names = [
            str(item) if isinstance(item, Path) else f"array {i}" for i, item in enumerate(items)
        ]
        return _probabilities(predict_digits(opened, names, digits))

    @_user_errors
    def plot(self, data: PathArg | None = None, *, checkpoint: CheckpointArg = None) -> list[Path]:
        """Learning curves, confusion matrix, misclassified digits, the model graph, the first
        convolution's filters, feature maps and a PCA of the last hidden layer as PNG files in
        ``RUN/plots/``, as ``mnistctl plot``; returns their paths (show one in Jupyter
        with ``IPython.display.Image(path)``). ``checkpoint``: the model of the confusion
        matrix and the digits (``CheckpointArg``; for the model the run does not end with they
        are ``confusion_matrix-best.png``, ...)."""
        with _tensorflow():
            from mnistctl.commands.plot import plot_run

            result = plot_run(
                self._run_dir, data=_data_path(data), runs_dir=None, checkpoint=checkpoint
            )
            return list(result.files)

    @_user_errors
    def explain(
        self,
        images: PathArg | Sequence[PathArg] = (),
        *,
        test: int | None = None,
        method: Literal["gradcam", "saliency", "occlusion", "all"] = "all",
        layer: str | None = None,
        output: PathArg | None = None,
        checkpoint: CheckpointArg = None,
        data: PathArg | None = None,
        draw: bool = True,
    ) -> ExplainResult:
        """Where the network looked, as ``mnistctl explain``: image files (prepared as
        ``predict`` prepares them) and the first ``test`` test pictures, each with its
        prediction and maps (``.entries[i].explanation.maps``: method -> (H, W) float32
        array, >= 0, or None with ``.reasons``); ``to_json()`` is the ``--json`` list.
        ``layer``: Grad-CAM's convolutional layer (default: the last still spatial).
        ``draw``: one PNG per picture in ``output`` (default ``RUN/explain/``)."""
        paths = path_items(images, "images", what="an image file", expected="an image file path")
        with _tensorflow():
            from mnistctl.commands.explain import explain_run

            return explain_run(
                self._run_dir, paths, test, method, layer,
                Path(output) if output is not None else None, checkpoint, _data_path(data),
                None, draw=draw,
            )  # fmt: skip

    @_user_errors
    def export(
        self,
        format: Literal["saved_model", "onnx", "litert"],
        output: PathArg | None = None,
        *,
        checkpoint: CheckpointArg = None,
        check_samples: int | None = None,
        data: PathArg | None = None,
    ) -> ExportResult:
        """The run's model as a SavedModel folder, ``model.onnx`` or ``model.tflite``, as
        ``mnistctl export``: exported in float32, checked in its own runtime against Keras on
        the test set (the first ``check_samples`` images; all by default) and put in
        ``output`` (default ``RUN/export/FORMAT``) only when it passed; ``to_json()`` is the
        ``export.json`` beside it. ``checkpoint``: which model (``CheckpointArg``)."""
        with _tensorflow(), _keras_policy_kept():
            from mnistctl.commands.export import export_run

            return export_run(
                self._run_dir,
                fmt=format,
                output=Path(output) if output is not None else None,
                checkpoint=checkpoint,
                check_samples=check_samples,
                data=_data_path(data),
            )


def _probabilities(result: PredictResult) -> Probabilities:
    rows = [p.probabilities for p in result.predictions]
    width = len(result.class_names)
    return np.asarray(rows, dtype=np.float64).reshape(-1, width).view(Probabilities)
