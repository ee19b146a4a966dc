"""How fast ``load_pictures`` reads a folder of 70,000 pictures, cold and from its cache.

    .venv/bin/python bench/data_read.py [--folder DIR] [-n 3] [--workers N] [--out JSON]

Writes Fashion-MNIST (Debian's ``dataset-fashion-mnist`` IDX files, read with
``mnistctl.data.idx.read_idx``) as 28x28 PNG files in class folders, ``train/<class>/`` and
``test/<class>/`` (60,000 + 10,000), into ``--folder`` (default: a folder in the temporary
directory, kept for the next run; a folder holding a complete earlier copy is reused), then
times, each round in a fresh process (``harness.run_child``):

- ``cold``: ``load_pictures(FOLDER)`` with an empty cache folder: listing, reading, checking
  and preparing every picture (worker processes), writing the cache;
- ``cached``: the same call again: listing and stat'ing every file, reading the cache file;
- ``pillow``: the floor: ``np.asarray(Image.open(path))`` of every file with
  ``ProcessPoolExecutor(2)``, in chunks, nothing else (no checks, no arrays filled).

Each row: the median of ``-n`` rounds of the call itself (inside the child) and of the whole
process; the child's own peak RSS (``VmHWM``: its ``ru_maxrss`` would count this process's
size, which it inherits at fork), the largest of it and its worker processes (``ru_maxrss``
from ``os.wait4``), and its growth over the interpreter with the imports done, against the
decoded array (70,000 x 28 x 28 bytes). The files stay in the page cache between rounds
(cold means mnistctl's cache, not the disk's). Goals (2 cores): cold <= 6 s, cached well
under 0.5 s, memory <= 2x the decoded array. The PNG files are written by a child process, so
that this one stays small.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness

sys.path.insert(0, str(harness.REPO))

from mnistctl.data.mnist import CLASS_NAMES

CLASSES = tuple(n.replace("/", "_").replace(" ", "_") for n in CLASS_NAMES["fashion_mnist"])
"""Fashion-MNIST's class names as folder names (T-shirt_top, ..., Ankle_boot)."""
DONE = ".complete"  # written last: the folder holds every picture

HWM = """
def hwm_kib():  # this process's own peak RSS (ru_maxrss also counts its parent's, from fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
"""

LOAD = (
    HWM
    + """
import json, os, sys, time
from pathlib import Path
from mnistctl.data.pictures.load import load_pictures
workers = None if sys.argv[2] == "auto" else int(sys.argv[2])
before = hwm_kib()
started = time.perf_counter()
got = load_pictures(Path(sys.argv[1]), workers=workers)
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds, "cached": got.cached, "bad": len(got.bad),
    "pictures": len(got.x_train) + len(got.x_test),
    "nbytes": got.x_train.nbytes + got.x_test.nbytes,
    "hwm_before_kib": before, "hwm_kib": hwm_kib(),
}))
"""
)

PILLOW = (
    HWM
    + """
import json, os, sys, time
from concurrent.futures import ProcessPoolExecutor
import numpy as np
from PIL import Image

def decode(paths):
    for p in paths:
        np.asarray(Image.open(p))
    return len(paths)

if __name__ == "__main__":
    root = sys.argv[1]
    started = time.perf_counter()
    paths = sorted(
        os.path.join(d, n) for d, _, names in os.walk(root) for n in names if n.endswith(".png")
    )
    chunks = [paths[i : i + 1024] for i in range(0, len(paths), 1024)]
    with ProcessPoolExecutor(2) as pool:
        count = sum(pool.map(decode, chunks))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "pictures": count, "hwm_kib": hwm_kib()}))
"""
)


def write_folder(folder: Path) -> None:
    """Fashion-MNIST as PNG class folders in ``folder``, unless a complete copy is there."""
    if (folder / DONE).is_file():
        return
    from PIL import Image

    from mnistctl.data.idx import read_idx

    source = harness.fashion_mnist_dir()
    if source is None:
        sys.exit("no Fashion-MNIST: apt-get install dataset-fashion-mnist")
    shutil.rmtree(folder, ignore_errors=True)
    print(f"writing 70,000 PNG files to {folder} ...", flush=True)
    for split, stem in (("train", "train"), ("test", "t10k")):
        images = read_idx(_idx(source, f"{stem}-images-idx3-ubyte"))
        labels = read_idx(_idx(source, f"{stem}-labels-idx1-ubyte"))
        for name in CLASSES:
            (folder / split / name).mkdir(parents=True, exist_ok=True)
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            Image.fromarray(image).save(folder / split / CLASSES[int(label)] / f"{i:05d}.png")
    (folder / DONE).write_text("60000 train + 10000 test\n")


def _idx(source: Path, stem: str) -> Path:
    plain = source / stem
    return plain if plain.is_file() else source / (stem + ".gz")


def measure(
    folder: Path, cache: Path, rounds: int, workers: str
) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {"cold": [], "cached": [], "pillow": []}
    env_cache = str(cache)
    load = [sys.executable, "-c", LOAD, str(folder), workers]
    pillow = [sys.executable, "-c", PILLOW, str(folder)]
    for _ in range(rounds):
        shutil.rmtree(cache, ignore_errors=True)
        for kind, cmd in (("cold", load), ("cached", load), ("pillow", pillow)):
            result = harness_child(cmd, env_cache)
            if not result.ok():
                harness.fail(result)
            results[kind].append(
                {**result.data, "wall": result.wall_seconds, "rss_mb": result.peak_rss_mb}
            )
            if kind != "pillow":
                assert result.data["cached"] == (kind == "cached"), result.data
    return results


def harness_child(cmd: list[str], cache: str) -> harness.ChildResult:
    import os

    saved = os.environ.get("MNISTCTL_CACHE_DIR")
    os.environ["MNISTCTL_CACHE_DIR"] = cache
    try:
        return harness.run_child(cmd)
    finally:
        if saved is None:
            os.environ.pop("MNISTCTL_CACHE_DIR", None)
        else:
            os.environ["MNISTCTL_CACHE_DIR"] = saved


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    decoded = results["cold"][0]["nbytes"] / 2**20
    rows = []
    for kind, runs in results.items():
        seconds = harness.median(r["seconds"] for r in runs)
        wall = harness.median(r["wall"] for r in runs)
        rss = harness.median(r["hwm_kib"] / 1024 for r in runs)
        with_workers = harness.median(r["rss_mb"] for r in runs)
        if kind == "pillow":
            rows.append([kind, seconds, wall, rss, with_workers, float("nan"), float("nan")])
            continue
        grown = harness.median((r["hwm_kib"] - r["hwm_before_kib"]) / 1024 for r in runs)
        rows.append([kind, seconds, wall, rss, with_workers, grown, grown / decoded])
    headers = [
        "",
        "call s",
        "process s",
        "peak RSS MB",
        "with workers MB",
        "over imports MB",
        "x decoded",
    ]
    print()
    print(harness.table(headers, rows))
    count = results["cold"][0]["pictures"]
    print(
        f"\n{count:,} pictures, decoded array {decoded:.1f} MB; medians of {len(results['cold'])}"
    )


def lscpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, help="where the PNG files are (written once)")
    parser.add_argument("-n", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--workers", default="auto", help="load_pictures' workers (default auto)")
    parser.add_argument("--out", type=Path, help="write the raw results here (JSON)")
    parser.add_argument("--write-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    info = harness.machine_info()
    if not args.write_only:
        harness.print_machine(info)
        print(f"lscpu:   {lscpu_model()}")
    folder = args.folder or Path(tempfile.gettempdir()) / "mnistctl-bench-fashion-png"
    if args.write_only:
        write_folder(folder)
        return
    if not (folder / DONE).is_file():  # in a child: this process stays small (RSS counts)
        subprocess.run(
            [sys.executable, __file__, "--write-only", "--folder", str(folder)], check=True
        )
    print(f"pictures: {folder}")
    with harness.temp_dir("mnistctl-data-read-cache-") as cache:
        results = measure(folder, cache, args.n, args.workers)
    report(results)
    if args.out:
        harness.write_json(args.out, {"machine": info, "results": results})


if __name__ == "__main__":
    main()
