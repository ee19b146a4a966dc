"""Where does mnistctl's training time go? The hand-written loop plus one mnistctl ingredient at a
time, each in a fresh process, alternated in rounds.

Variants (all: same model, data, batch 128, Adam, seed 0, no validation):
- ``notebook``: ``fit`` on float32 NumPy arrays, no callbacks (the hand-written script)
- ``batch-callback``: + a callback with ``on_train_batch_end`` reading the logs as floats, as
  mnistctl's RunRecorder does; Keras then turns off its asynchronous callback dispatch
- ``determinism``: + ``tf.config.experimental.enable_op_determinism()``, as mnistctl calls
- ``pipeline``: mnistctl's tf.data pipeline (uint8 in memory, gathered and scaled per batch)
  instead of float32 arrays
- ``checkpoint``: + mnistctl's per-epoch ``save_model`` of a checkpoint (model and optimizer)
- ``all``: everything above together (close to what ``mnistctl train`` does inside ``fit``)

Speed is training samples/s over the epochs after the first (the first one traces the graph).

    .venv/bin/python bench/ablate.py --model dnn --epochs 3 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness

VARIANTS = ("notebook", "batch-callback", "determinism", "pipeline", "checkpoint", "all")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="default: as compare.py")
    parser.add_argument("--model", choices=harness.MODELS, default="dnn")
    parser.add_argument("--epochs", type=int, default=3, help="at least 2; the first is dropped")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-samples", type=int, default=None)
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=None, help="also write raw results as JSON")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if set(args.variants) - set(VARIANTS) or not args.variants:
        parser.error(f"--variants: some of {','.join(VARIANTS)}")
    if args.epochs < 2 or args.rounds < 1:
        parser.error("--epochs must be at least 2 and --rounds at least 1")
    return args


# --- the child: one variant, one process -----------------------------------------------------


def build(model: str, keras: Any) -> Any:
    """The reference models: the same computation as keras_dnn.py and keras_cnn.py."""
    if model == "dnn":
        inp = keras.Input(shape=(784,))
        x = inp
        for _ in range(4):
            x = keras.layers.Dense(256, activation="sigmoid")(x)
        out = keras.layers.Dense(10, activation="softmax", dtype="float32")(x)
    else:
        inp = keras.Input(shape=(28, 28, 1))
        x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inp)
        x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
        x = keras.layers.MaxPooling2D((2, 2))(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(128, activation="relu")(x)
        out = keras.layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inp, out)


def child(args: argparse.Namespace, data: Path) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from mnistctl.data.datasets import load_dataset
    from mnistctl.ml import pipeline
    from mnistctl.ml.modelfile import save_model

    variant = args.child
    on = {
        "batch-callback": variant in ("batch-callback", "all"),
        "determinism": variant in ("determinism", "all"),
        "pipeline": variant in ("pipeline", "all"),
        "checkpoint": variant in ("checkpoint", "all"),
    }
    keras.utils.set_random_seed(0)
    if on["determinism"]:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(args.precision)
    ds = load_dataset("mnist", data)
    x, y = ds.x_train, ds.y_train
    if args.train_samples:
        x, y = x[: args.train_samples], y[: args.train_samples]
    shape = [784] if args.model == "dnn" else [28, 28, 1]
    model = build(args.model, keras)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    epoch_seconds: list[float] = []
    tmp = Path(tempfile.mkdtemp(prefix="mnistctl-ablate-"))

    class EpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if on["checkpoint"]:
                save_model(self.model, tmp / f"checkpoint-{epoch + 1}.keras")
            epoch_seconds.append(time.perf_counter() - self.t0)

    class BatchLogs(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.last = {k: float(v) for k, v in (logs or {}).items()}

    callbacks = [EpochTimer()] + ([BatchLogs()] if on["batch-callback"] else [])
    if on["pipeline"]:
        train = pipeline.train_dataset(
            x,
            y,
            batch_size=128,
            input_shape=shape,
            one_hot=True,
            classes=10,
            shuffle=True,
            seed=0,
            first_epoch=0,
            epochs=args.epochs,
        )
        model.fit(
            train,
            epochs=args.epochs,
            steps_per_epoch=pipeline.steps(len(x), 128),
            verbose=0,
            callbacks=callbacks,
        )
    else:
        xf = x.reshape(-1, *shape).astype("float32") / 255
        yf = keras.utils.to_categorical(y, 10)
        model.fit(xf, yf, batch_size=128, epochs=args.epochs, verbose=0, callbacks=callbacks)
    for f in tmp.glob("*"):
        f.unlink()
    tmp.rmdir()
    later = epoch_seconds[1:]
    print(
        json.dumps(
            {
                "variant": variant,
                "samples": len(x),
                "epoch_seconds": [round(s, 3) for s in epoch_seconds],
                "samples_per_second": len(x) * len(later) / sum(later),
            }
        )
    )
    return 0


# --- the harness -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data = harness.require_path(args.data) if args.data else harness.default_data()
    if args.child:
        return child(args, data)
    info = harness.machine_info()
    harness.print_machine(info)
    print(
        f"data:    {data}; model {args.model}, {args.precision}, {args.epochs} epochs "
        f"(first dropped), {args.rounds} round(s), train samples {args.train_samples or 'all'}"
    )
    sys.stdout.flush()
    harness.warm_up()
    records: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        for variant in args.variants:
            cmd = [sys.executable, __file__, "--child", variant, "--data", str(data)]
            cmd += ["--model", args.model, "--epochs", str(args.epochs)]
            cmd += ["--precision", args.precision]
            if args.train_samples:
                cmd += ["--train-samples", str(args.train_samples)]
            result = harness.run_child(cmd)
            if not result.ok():
                harness.fail(result)
            r = dict(result.data, round=rnd, peak_rss_mb=round(result.peak_rss_mb, 1))
            records.append(r)
            print(
                f"  round {rnd + 1} {variant:<15} {r['samples_per_second']:9,.0f} samples/s",
                file=sys.stderr,
                flush=True,
            )
    base = harness.median(r["samples_per_second"] for r in records if r["variant"] == "notebook")
    rows = []
    for variant in args.variants:
        sps = harness.median(r["samples_per_second"] for r in records if r["variant"] == variant)
        rows.append([variant, f"{sps:,.0f}", f"x{sps / base:.2f}" if base == base else "-"])
    print()
    print(harness.table(["variant", "samples/s (median)", "vs notebook"], rows))
    if args.out:
        info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        settings = {k: v for k, v in vars(args).items() if k not in ("child", "out", "data")}
        settings["data"] = str(data)
        harness.write_json(args.out, {"machine": info, "settings": settings, "runs": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
