"""What the commands that use a trained run share: opening it, checked, and its model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from mnistctl.commands.datasource import load_spec_data
from mnistctl.data.datasets import Dataset
from mnistctl.ml.modelfile import check_matches, load_model
from mnistctl.phases import mark
from mnistctl.runs import layout
from mnistctl.runs.record import RunRecord
from mnistctl.spec import Spec


@dataclass(frozen=True)
class OpenRun:
    """A run whose spec and chosen model file were checked against its record."""

    run_dir: Path  # absolute
    record: RunRecord
    spec: Spec
    checkpoint: layout.Checkpoint  # which model: best.keras or model.keras, and its epoch

    @property
    def model_file(self) -> Path:
        return self.checkpoint.path

    def load_model(self) -> keras.Model:
        """The model, loaded safely (no code runs) and checked to be the spec's model."""
        model = load_model(self.model_file, compile=False)
        check_matches(model, self.spec, self.model_file)
        mark("model")
        return model

    def load_data(self, given: Path | None) -> Dataset:
        """The run's data: ``given`` (--data) if any, else where its spec says."""
        dataset = load_spec_data(self.spec, given)
        mark("data")
        return dataset


def open_run(run_arg: Path, runs_dir: Path | None, checkpoint: str | None = None) -> OpenRun:
    """Find a run (a directory, a file in one, or a spec meaning its latest run), check it.

    ``checkpoint``: ``best`` (best.keras), ``last`` (model.keras) or None, the model the run
    ends with (``final_checkpoint`` in its record)."""
    run = layout.find_run(run_arg, runs_dir).resolve()
    record = RunRecord.load(run)
    spec = layout.load_run_spec(run, record)
    opened = OpenRun(run, record, spec, layout.checkpoint(run, record, checkpoint, spec))
    mark("run")  # found, its record and spec read (and TensorFlow imported)
    return opened
