"""Fine-tuning: a new model's layers start from another run's weights (``model.init_from``).

``prepare`` runs before a run directory exists, so that a bad source leaves nothing behind: it
opens the source run as the commands that load a run open it (found, its record read, its spec
and model file checked against the record's checksums), refusing a run that diverged or is
still training, loads the model and matches its layers to the new model's: by name, class and
the shapes of every weight. ``InitPlan.apply`` then copies the matched layers' weights
(BatchNormalization's moving statistics included) into the model about to train; every other
layer with weights starts fresh, as Keras initialises it. Layers without weights (pooling,
Flatten, Dropout, ...) are neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnistctl.errors import UserError, UserErrors
from mnistctl.ml.modelfile import check_matches, load_model
from mnistctl.runs import layout
from mnistctl.runs.record import RunRecord, Status
from mnistctl.spec import Spec
from mnistctl.spec.initfrom import InitFrom

if TYPE_CHECKING:  # TensorFlow loads when a model is (the source checks need none)
    import keras

_SHOWN = 6  # layers named in full in the no-match error


@dataclass(frozen=True)
class InitPlan:
    """Which layers of the new model start from the source run's weights, and which not."""

    run_dir: Path  # the source run, absolute
    checkpoint: layout.Checkpoint  # its model file the weights come from
    weights: Mapping[str, list[np.ndarray]]  # layer name -> its weights (get_weights order)
    fresh: Mapping[str, str]  # layer name -> why it starts fresh

    @property
    def copied(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def apply(self, model: keras.Model) -> None:
        """Copy the matched layers' weights into ``model`` (the spec's model, just built)."""
        for name, arrays in self.weights.items():
            model.get_layer(name).set_weights(arrays)

    def spec_value(self) -> dict[str, str]:
        """``model.init_from`` as the new run's spec.yaml records it: the very run and model
        file (a spec path meant its latest run *then*)."""
        return {"run": str(self.run_dir), "checkpoint": self.checkpoint.name}

    def to_json(self) -> dict[str, Any]:
        """What the run's record and ``train --json`` say about it."""
        return {
            "run_dir": str(self.run_dir),
            "checkpoint": self.checkpoint.name,
            "file": self.checkpoint.file,
            "epoch": self.checkpoint.epoch,
            "copied": list(self.copied),
            "fresh": list(self.fresh),
            "fresh_reasons": dict(self.fresh),
        }

    def line(self) -> str:
        """The one line ``train`` prints: where the weights come from, and what starts fresh."""
        epoch = f", epoch {self.checkpoint.epoch}" if self.checkpoint.epoch else ""
        text = (
            f"init_from {self.run_dir} ({self.checkpoint.file}{epoch}): weights copied into "
            f"{len(self.weights)} layer(s): {', '.join(self.copied)}"
        )
        if self.fresh:
            text += "; starting fresh: " + ", ".join(f"{n} ({r})" for n, r in self.fresh.items())
        return text


def prepare(spec: Spec, runs_dir: Path | None) -> InitPlan | None:
    """The plan for ``spec``'s ``model.init_from`` (None without one), checked: the source
    run is there, undamaged, neither diverged nor still training, and at least one layer
    matches. ``runs_dir``: where a spec path looks for its latest run."""
    init = spec.init_from
    if init is None:
        return None
    from mnistctl.ml.builder import build_model

    run, chosen, source = _open(init, runs_dir)
    weights, fresh = _match(source, build_model(spec))
    if not weights:
        shown = [f"{n} ({r})" for n, r in list(fresh.items())[:_SHOWN]]
        more = len(fresh) - len(shown)
        raise UserError(
            "no layer of this model matches a layer of the run it starts from",
            init.where,
            expected=f"layers of the same names and weight shapes as in {run}",
            received=", ".join(shown) + (f" and {more} more" if more > 0 else ""),
            hint="name the layers as that run's spec.yaml names them",
        )
    return InitPlan(run, chosen, weights, fresh)


# --- the source run ---------------------------------------------------------------------------


def _open(init: InitFrom, runs_dir: Path | None) -> tuple[Path, layout.Checkpoint, keras.Model]:
    """The source run, its chosen model file and that model, each checked; every problem is
    an error at the spec's ``model.init_from``."""
    try:
        run = layout.find_run(Path(init.run), runs_dir).resolve()
        record = RunRecord.load(run)
        _check_state(init, run, record)
        spec = layout.load_run_spec(run, record)
        chosen = layout.checkpoint(run, record, init.checkpoint, spec)
        model = load_model(chosen.path, compile=False)
        check_matches(model, spec, chosen.path)
    except UserErrors as errors:  # the source's spec (or its runs' spec) is invalid
        first = errors.errors[0] if errors.errors else UserError(str(errors))
        raise _about_source(init, first) from None
    except UserError as err:
        raise _about_source(init, err) from None
    return run, chosen, model


def _check_state(init: InitFrom, run: Path, record: RunRecord) -> None:
    if record.status is Status.DIVERGED:
        raise UserError(
            "cannot start from a run that diverged",
            init.where,
            expected="a completed or interrupted run",
            received=f"{run}: {record.get('error') or 'diverged'}",
            hint="start from another run",
        )
    live = record.is_live()
    if live or live is None:
        owner = record.owner
        where = f"process {owner.pid} on {owner.host}" if owner else "its process"
        raise UserError(
            "cannot start from a run that is still training",
            init.where,
            expected="a run that has finished training",
            received=f"{run}: {where} is {'alive' if live else 'training it on another machine'}",
            hint="wait for it to finish",
        )


def _about_source(init: InitFrom, err: UserError) -> UserError:
    """``err`` (about a file of the source run) as an error at ``model.init_from``."""
    if err.location == init.where:
        return err
    about = err.location.prefix().removesuffix(": ") or init.run
    return replace(
        err,
        message=f"cannot start from {about}: {err.message}",
        location=init.where,
    )


# --- matching layers ------------------------------------------------------------------------


def _match(
    source: keras.Model, target: keras.Model
) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """The source's weights for each target layer that matches (same name, class and weight
    shapes), and why each other target layer with weights does not."""
    theirs = {layer.name: layer for layer in source.layers}
    weights: dict[str, list[np.ndarray]] = {}
    fresh: dict[str, str] = {}
    for layer in target.layers:
        if not layer.weights:
            continue
        reason = _mismatch(theirs.get(layer.name), layer)
        if reason is None:
            weights[layer.name] = [np.asarray(w) for w in theirs[layer.name].get_weights()]
        else:
            fresh[layer.name] = reason
    return weights, fresh


def _mismatch(src: keras.layers.Layer | None, dst: keras.layers.Layer) -> str | None:
    """Why ``src`` cannot give ``dst`` its weights; None when it can."""
    if src is None:
        return "not in that model"
    if type(src).__name__ != type(dst).__name__:
        return f"a {type(src).__name__} there"
    ours, theirs = dst.weights, src.weights
    for a, b in zip(ours, theirs, strict=False):
        if tuple(a.shape) != tuple(b.shape):
            name = a.path.rpartition("/")[2] or a.name
            return f"{name} {_shape(b.shape)} there, {_shape(a.shape)} here"
    if len(ours) != len(theirs):
        return f"{len(theirs)} weights there, {len(ours)} here"
    return None


def _shape(shape: Any) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"
