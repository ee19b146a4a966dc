"""What a run's TensorBoard event files cost: seconds per epoch and bytes on disk per epoch.

``mnistctl train`` (in this process, the real training code) with the TensorBoard callback and
without it (replaced by a do-nothing callback), alternated in rounds on the same data, spec and
seed; with ``--histograms``, also with ``train.tensorboard_histograms=1`` (needs the tensorboard
package). Printed per mode: training seconds per epoch (``fit`` as a whole, the first epoch's
tracing included, median over rounds), the time spent inside the callback (timed directly: the
callback's own cost, free of the run-to-run noise of the epoch times), per epoch and once per
session (opening the files, the graph, closing), and the event files' bytes: a fixed part (file
headers, the graph) and the part per epoch.

    .venv/bin/python bench/tensorboard_cost.py                       # CNN, 4 epochs, 2 rounds
    .venv/bin/python bench/tensorboard_cost.py --epochs 3 --rounds 1 --train-samples 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import harness

sys.path.insert(0, str(harness.REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("off", "on", "histograms")
EPOCH_HOOKS = ("on_epoch_begin", "on_test_begin", "on_test_end", "on_epoch_end")
ONCE_HOOKS = ("set_model", "on_train_begin", "on_train_end", "close")  # the graph: set_model
TIMED_HOOKS = EPOCH_HOOKS + ONCE_HOOKS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=harness.SHARED_NPZ)
    parser.add_argument("--spec", type=Path, default=harness.SPECS["cnn"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=None)
    parser.add_argument("--histograms", action="store_true", help="also histogram_freq=1")
    parser.add_argument("--keep", action="store_true", help="keep the runs (path printed)")
    parser.add_argument("--out", type=Path, default=None, help="raw results as JSON")
    return parser.parse_args(argv)


class QuietReporter:
    """The training reporter the benchmark needs: nothing on the screen; each epoch's seconds
    as training reports them (the TensorBoard callback's epoch end comes after)."""

    live = False

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def start(self, first_epoch: int, epochs: int, steps: int) -> None: ...
    def epoch_start(self, epoch: int) -> None: ...
    def batch(self, step: int, logs: Mapping[str, float]) -> None: ...

    def epoch_end(self, epoch: int, logs: Mapping[str, float], seconds: float) -> None:
        self.seconds.append(seconds)

    def note(self, text: str) -> None: ...
    def stop(self) -> None: ...


def timed_callback_factory(spent: dict[str, float]) -> Callable[..., Any]:
    """``tensorboard.callback`` whose callback adds the seconds spent in each hook to
    ``spent``."""
    from mnistctl.ml import tensorboard

    class Timed(tensorboard.EpochTensorBoard):
        pass

    def wrap(name: str) -> Callable[..., Any]:
        inner = getattr(tensorboard.EpochTensorBoard, name)

        def hook(self: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(self, *args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0

        return hook

    for name in TIMED_HOOKS:
        setattr(Timed, name, wrap(name))

    def factory(spec: Any, run_dir: Path, first_epoch: int) -> Any:
        tensorboard.check(spec)
        return Timed(
            run_dir / tensorboard.TENSORBOARD,
            histogram_freq=spec.train.tensorboard_histograms,
            write_graph=first_epoch == 0,
        )

    return factory


def off_factory(spec: Any, run_dir: Path, first_epoch: int) -> Any:
    import keras

    class Off(keras.callbacks.Callback):  # type: ignore[misc]
        def close(self) -> None: ...

    return Off()


@contextmanager
def callback_as(factory: Callable[..., Any]) -> Iterator[None]:
    from mnistctl.ml import tensorboard

    saved = tensorboard.callback
    tensorboard.callback = factory
    try:
        yield
    finally:
        tensorboard.callback = saved


def event_bytes(board: Path) -> dict[str, int]:
    """Bytes of the event files under ``board``: in all, and split into the file headers, the
    graph and everything else (the per-epoch points). A TFRecord is its data plus 16 bytes."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    out = {"total": 0, "headers": 0, "graph": 0, "epochs": 0}
    for path in sorted(board.rglob("events.out.tfevents.*")):
        out["total"] += path.stat().st_size
        for record in tf.data.TFRecordDataset(str(path)):
            data = record.numpy()
            event = event_pb2.Event.FromString(data)
            size = len(data) + 16
            if event.HasField("file_version"):
                out["headers"] += size
            elif event.HasField("graph_def") or any(
                v.metadata.plugin_data.plugin_name == "graph_keras_model"
                for v in event.summary.value
            ):
                out["graph"] += size
            else:
                out["epochs"] += size
    return out


def train_once(args: argparse.Namespace, mode: str, runs: Path) -> dict[str, Any]:
    from mnistctl.commands.train import train_spec

    spent: dict[str, float] = defaultdict(float)
    factory = off_factory if mode == "off" else timed_callback_factory(spent)
    overrides = [f"train.epochs={args.epochs}"]
    if args.train_samples:
        overrides.append(f"data.train_samples={args.train_samples}")
    if mode == "histograms":
        overrides.append("train.tensorboard_histograms=1")
    reporter = QuietReporter()
    with callback_as(factory):
        result = train_spec(
            args.spec, overrides, data=args.data, runs_dir=runs / mode, reporter=reporter
        )
    assert result.status == "completed" and result.train_seconds, result
    row: dict[str, Any] = {
        "mode": mode,
        "train_seconds": result.train_seconds,
        "seconds_per_epoch": result.train_seconds / args.epochs,
        "epoch_seconds": reporter.seconds,
        "callback_seconds_per_epoch": sum(spent[h] for h in EPOCH_HOOKS) / args.epochs,
        "callback_seconds_once": sum(spent[h] for h in ONCE_HOOKS),
        "callback_seconds_by_hook": dict(spent),
    }
    if mode != "off":
        row["bytes"] = event_bytes(result.run_dir / "tensorboard")
    return row


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    args.data = harness.require_path(args.data)
    info = harness.machine_info()
    harness.print_machine(info)
    from mnistctl.ml.tensorboard import tensorboard_installed

    modes = list(MODES[:2])
    if args.histograms:
        if tensorboard_installed():
            modes.append("histograms")
        else:
            print("--histograms: the tensorboard package is not installed; skipped")
    print(
        f"spec {args.spec.name}, data {args.data.name}, {args.epochs} epochs, "
        f"{args.rounds} round(s), modes {', '.join(modes)}; "
        f"tensorboard package: {'installed' if tensorboard_installed() else 'not installed'}"
    )
    sys.stdout.flush()
    rows: list[dict[str, Any]] = []
    with harness.temp_dir("tb-cost-", keep=args.keep) as tmp:
        if args.keep:
            print(f"runs: {tmp}")
        for r in range(args.rounds):
            order = modes if r % 2 == 0 else modes[::-1]
            for mode in order:
                row = train_once(args, mode, tmp / f"round{r}")
                rows.append({**row, "round": r})
                print(
                    f"round {r} {mode:>10}: {row['seconds_per_epoch']:.3f} s/epoch "
                    f"(epochs: {' '.join(f'{x:.2f}' for x in row['epoch_seconds'])}), "
                    f"callback {row['callback_seconds_per_epoch'] * 1000:.1f} ms/epoch "
                    f"+ {row['callback_seconds_once'] * 1000:.1f} ms once"
                )
                sys.stdout.flush()
    table_rows = []
    for mode in modes:
        mine = [row for row in rows if row["mode"] == mode]
        per_epoch = harness.median(row["seconds_per_epoch"] for row in mine)
        inside = harness.median(row["callback_seconds_per_epoch"] for row in mine) * 1000
        once = harness.median(row["callback_seconds_once"] for row in mine) * 1000
        sizes = mine[-1].get("bytes")
        fixed = sizes["headers"] + sizes["graph"] if sizes else 0
        table_rows.append(
            [
                mode,
                per_epoch,
                inside,
                once,
                sizes["epochs"] / args.epochs if sizes else 0,
                fixed,
                sizes["total"] if sizes else 0,
            ]
        )
    print()
    print(
        harness.table(
            [
                "mode",
                "s/epoch",
                "callback ms/epoch",
                "callback ms once",
                "bytes/epoch",
                "fixed bytes",
                "total bytes",
            ],
            table_rows,
        )
    )
    off = next(r for r in table_rows if r[0] == "off")[1]
    on = next(r for r in table_rows if r[0] == "on")[1]
    print(f"\nwith the callback / without: {on / off:.3f} (epoch times; noise included)")
    if args.out:
        harness.write_json(
            args.out,
            {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}, "runs": rows},
        )


if __name__ == "__main__":
    main()
