"""Are ``mnistctl explain``'s maps faithful, and how fast are they?

    .venv/bin/python bench/explain.py [--run RUN] [--pictures 500] [--timing 200]

Trains ``specs/cnn.yaml`` on the bundled sample (``dataset: mnist_sample``: 5,000 digits, its
10 epochs, in a temporary runs directory; ``--run`` takes an existing run instead), then:

(a) faithfulness on the first ``--pictures`` test pictures the model reads correctly
    (``mnistctl/ml/explain/faithfulness.py``): covering the 10 % of pixels each map ranks
    highest against random covers (10 % of the digit's ink; as many ink pixels as the map's
    cover; 10 % of all pixels), the share of pictures where the map's cover lowers the
    predicted class's probability more, and the mean drops. Every saliency method of
    ``saliency.py`` is measured: the table that chose ``SALIENCY``. Goal: >= 90 % against
    10 % of the ink for occlusion and saliency; Grad-CAM clearly above random pixels.
(b) time per picture with all three methods, after start-up (the explainer made and warmed
    up): ``--timing`` pictures in one call, and one picture a call (a served drawing). Goal:
    <= 0.1 s per picture on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import numpy as np

sys.path.insert(0, str(harness.REPO))

from mnistctl.commands.common import open_run
from mnistctl.ml.explain import SALIENCY, Explainer
from mnistctl.ml.explain.faithfulness import BASELINES, Faithfulness, measure
from mnistctl.ml.explain.saliency import SALIENCY_METHODS
from mnistctl.ml.explain.traced import CAM, CAM_KINDS, onehot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run (default: train specs/cnn.yaml)")
    parser.add_argument("--pictures", type=int, default=500)
    parser.add_argument("--timing", type=int, default=200)
    args = parser.parse_args()
    harness.print_machine(harness.machine_info())
    with tempfile.TemporaryDirectory() as work:
        run = args.run or harness.train_cnn(Path(work), "--set", "data.dataset=mnist_sample")
        opened = open_run(run, None)
        print(f"run:     {opened.run_dir} ({opened.checkpoint.file})")
        model = opened.load_model()
        explainer = Explainer(model)
        dataset = opened.load_data(None)
    x = explainer.pictures(dataset.x_test[: args.pictures].astype(np.float32) / 255)
    probs = explainer.traced.probabilities(x)
    right = np.flatnonzero(probs.argmax(1) == dataset.y_test[: args.pictures])
    x, labels = x[right], probs.argmax(1)[right]
    print(f"pictures: {len(x)} read correctly of the first {args.pictures} test pictures\n")
    faithfulness(model, explainer, x, labels)
    timing(explainer, dataset.x_test[: args.timing].astype(np.float32) / 255)


def faithfulness(model: Any, explainer: Explainer, x: np.ndarray, labels: np.ndarray) -> None:
    hot = onehot(labels, explainer.classes)
    maps: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name, method in SALIENCY_METHODS.items():
        method(explainer.traced, x[:8], hot[:8])  # traced and warm
        start = time.perf_counter()
        maps[f"saliency: {name}"] = method(explainer.traced, x, hot)
        seconds[f"saliency: {name}"] = (time.perf_counter() - start) / len(x)
    explainers = {f"gradcam: {kind}": Explainer(model, cam=kind) for kind in CAM_KINDS}
    explainers["occlusion"] = explainer
    for name, one in explainers.items():
        method = name.split(":")[0]
        one.explain(x[:8], (method,))  # traced and warm
        start = time.perf_counter()
        found = one.explain(x, (method,))
        seconds[name] = (time.perf_counter() - start) / len(x)
        maps[name] = np.stack([e.maps[method] for e in found])  # type: ignore[misc]
    print("(a) faithfulness: cover the top 10 % of a map's pixels vs random covers; wins = share")
    print("    of pictures where the map's cover lowers the predicted class's probability more")
    head = f"{'method':38} {'vs 10% ink':>11} {'vs same n ink':>14} {'vs 10% px':>10}"
    print(f"{head} {'drop: map':>10} {'10% ink':>8} {'same ink':>9} {'10% px':>7} {'ms/pic':>7}")
    for name, values in maps.items():
        result = measure(explainer.traced.probabilities, x, labels, values)
        used = name in (f"saliency: {SALIENCY}", f"gradcam: {CAM}")
        print(_row(name + (" (used)" if used else ""), result, seconds[name]))


def _row(name: str, r: Faithfulness, seconds: float) -> str:
    widths = list(zip(BASELINES, (11, 14, 10), (8, 9, 7), strict=True))
    rates = " ".join(f"{r.win_rate(b):>{w}.1%}" for b, w, _ in widths)
    drops = " ".join(f"{r.random_drop[b]:>{w}.4f}" for b, _, w in widths)
    return f"{name:38} {rates} {r.map_drop:>10.4f} {drops} {seconds * 1000:>7.1f}"


def timing(explainer: Explainer, x: np.ndarray) -> None:
    pics = explainer.pictures(x)
    explainer.explain(pics[:4])  # start-up: traced, warm
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        explainer.explain(pics)
        rounds.append((time.perf_counter() - start) / len(pics))
    single = []
    for pic in pics[:50]:
        start = time.perf_counter()
        explainer.explain(pic[None])
        single.append(time.perf_counter() - start)
    print("\n(b) time per picture, all three methods, after start-up (goal <= 0.1 s)")
    print(f"    {len(pics)} pictures in one call: {statistics.median(rounds) * 1000:.1f} ms a "
          f"picture (median of 3)")  # fmt: skip
    print(f"    one picture a call: p50 {statistics.median(single) * 1000:.1f} ms, "
          f"max {max(single) * 1000:.1f} ms (50 calls)")  # fmt: skip


if __name__ == "__main__":
    main()
