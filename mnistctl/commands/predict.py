"""``mnistctl predict RUN IMAGE...``: the digit in each image, with probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mnistctl.errors import UserError, UserErrors
from mnistctl.runs import files as runs


def predict_images(
    run_arg: Path,
    images: Sequence[Path],
    *,
    json_output: bool,
    runs_dir: Path | None = None,
) -> None:
    from mnistctl.data.images import load_digit

    run = runs.find_run(run_arg, runs_dir)
    spec = runs.load_run_spec(run)
    model_file = runs.model_path(run)
    digits, errors = [], []
    for path in images:  # every image is checked before TensorFlow starts
        try:
            digits.append(load_digit(path))
        except UserError as err:
            errors.append(err)
    if errors:
        raise UserErrors(errors)
    from mnistctl.ml.modelfile import load_model
    from mnistctl.ui.render import CLASS_NAMES, print_json, stdout_console

    model = load_model(model_file, compile=False)
    input_shape = spec.model_info.layers[0].output_shape
    batch = np.stack(digits).astype(np.float32).reshape((-1, *input_shape))
    probabilities = np.asarray(model.predict(batch, verbose=0), dtype=np.float64)
    results: list[dict[str, Any]] = [
        {"file": str(path), "label": int(p.argmax()), "probabilities": [float(v) for v in p]}
        for path, p in zip(images, probabilities, strict=True)
    ]
    if json_output:
        print_json(results)
        return
    from rich.table import Table

    names = CLASS_NAMES.get(spec.data.dataset, CLASS_NAMES["mnist"])
    table = Table(title=f"{spec.name}: predictions", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("label", justify="right")
    table.add_column("top 3 (probability)")
    for row in results:
        probs = np.asarray(row["probabilities"])
        top = np.argsort(-probs)[:3]
        label = int(row["label"])
        shown = str(label) if names[label] == str(label) else f"{label} {names[label]}"
        table.add_row(
            row["file"],
            shown,
            "  ".join(f"{names[i]}: {probs[i]:.1%}" for i in top),
        )
    stdout_console().print(table)
