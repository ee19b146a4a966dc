"""The model files a training session leaves in its run: the last finished epoch as model.keras
when a run stops early (interrupted, diverged), and the best epoch's checkpoint as best.keras.

A checkpoint is written whole before the record names it (``ml/training.py``); these copy or
move it into place atomically and then record its checksum, so the record never names a file
that is not on disk as it says.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mnistctl.ml.training import Job
from mnistctl.runs import layout
from mnistctl.runs.atomic import write_with
from mnistctl.spec import Spec


def keep_last_epoch(job: Job) -> None:
    """An interrupted or diverged run keeps its last finished epoch as model.keras, so that
    evaluate, predict and plot can use it."""
    run = job.record.run_dir
    checkpoint = run / f"checkpoint-{len(job.history)}.keras"
    if job.history and checkpoint.exists():
        _copy(checkpoint, run / layout.MODEL)
        job.record.file_written(layout.MODEL)
    publish_best(job, keep=True)


def publish_best(job: Job, *, keep: bool) -> None:
    """The best epoch's checkpoint becomes best.keras: copied while the run may still be
    resumed (``keep``), moved when it is complete."""
    best, run = job.best, job.record.run_dir
    source = run / best["checkpoint"] if best else None
    if best is None or source is None or not source.exists():
        return
    if keep or source.name == f"checkpoint-{len(job.history)}.keras":
        _copy(source, run / layout.BEST)  # the last epoch's becomes model.keras too
    else:
        os.replace(source, run / layout.BEST)
    job.record.best_saved(layout.BEST, best["epoch"], best["monitor"], best["value"])


def restores_best(spec: Spec) -> bool:
    stop = spec.train.early_stopping
    return bool(stop and stop["restore_best_weights"])


def _copy(source: Path, target: Path) -> None:
    def copy(tmp: Path) -> None:
        shutil.copyfile(source, tmp)

    write_with(target, copy, suffix=".keras")
