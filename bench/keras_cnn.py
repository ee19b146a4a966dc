"""The reference CNN as a person writes it in a notebook: plain Keras, float arrays, fit, evaluate.

Input 28x28x1 -> Conv2D(32, 3x3) -> ReLU -> Conv2D(32, 3x3) -> ReLU -> MaxPool 2x2 -> Flatten ->
Dense(128) -> ReLU -> Dense(10) -> softmax; Adam, categorical cross-entropy, batch 128. Prints
one JSON line on stdout: ``{"test_accuracy", "test_loss", "train_seconds", "samples", ...}``.

    python bench/keras_cnn.py --data ../shared/data/mnist-5k-10k.npz --epochs 10 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help=".npz or folder of IDX files")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-samples", type=int, default=None, help="use the first N only")
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    import keras

    # Reading only (.npz or IDX, plain or gzip): the same reader mnistctl uses, to keep it fair.
    from mnistctl.data.datasets import load_dataset

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.precision)

    ds = load_dataset("mnist", args.data)
    arrays: tuple[Any, ...] = (ds.x_train, ds.y_train, ds.x_test, ds.y_test)
    x_train, y_train, x_test, y_test = arrays
    if args.train_samples:
        x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]

    # --- the notebook ---
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    input_tensor = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(32, (3, 3))(input_tensor)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Conv2D(32, (3, 3))(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128)(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Dense(10)(x)
    # float32 softmax under a mixed policy, as the Keras mixed-precision guide says
    output_tensor = keras.layers.Activation("softmax", dtype="float32")(x)
    model = keras.Model(input_tensor, output_tensor)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    train_seconds = time.perf_counter() - started

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    # --- end of the notebook ---

    print(
        json.dumps(
            {
                "model": "cnn",
                "test_accuracy": float(test_accuracy),
                "test_loss": float(test_loss),
                "train_seconds": round(train_seconds, 3),
                "samples": len(x_train),
                "epochs": args.epochs,
                "precision": args.precision,
                "seed": args.seed,
                "param_count": int(model.count_params()),
                "samples_per_second": round(len(x_train) * args.epochs / train_seconds, 1),
            }
        )
    )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
