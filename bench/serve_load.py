"""Load on ``mnistctl serve``: N clients posting real test digits, on loopback.

    .venv/bin/python bench/serve_load.py [--run RUN] [--seconds 10] [--concurrency 1 8 32]
                                         [--warmup 2] [--explain] [--json] [--out FILE]

Without ``--run``, trains a CNN run first (``specs/cnn.yaml``, 1 epoch on the bundled
``mnist_sample``, in a temporary runs folder; its accuracy does not matter here). Starts
``mnistctl serve RUN`` as a real process on a free loopback port (``tests/serving.py``, the
same start and stop as the tests), and for each concurrency C opens C keep-alive HTTP/1.1
connections that post real MNIST test digits as PNG files (prepared before timing, from
``../shared/data/mnist-5k-10k.npz`` or the bundled sample) to ``/api/predict``, each client
sending its next request as soon as the last answer is in: ``--warmup`` seconds not counted,
then ``--seconds`` measured.

Reports per concurrency: requests/s, p50/p90/p99 latency (ms, from the first byte sent to the
last byte of the answer), errors (a non-200 answer, an answer that is not a prediction, a
broken connection or a request over the timeout; the goal is 0), and the CPU time the server
(its own process, and with its preparation worker processes) and this client used per
request. Goals (issue 11): at concurrency 32 at least 5x the
requests/s of concurrency 1 (the server batches requests that arrive together), p99 at
concurrency 1 under 20 ms for the CNN on 2 cores.

``--explain`` also posts the same digits to ``/api/explain`` (all three maps and the layers'
tiles) at each concurrency, and compares the two at concurrency 1. Goal (issue 25): explain adds
at most 50 ms to a request at p50 (explain's p50 minus predict's).

The client is lean on purpose (asyncio streams, requests built once as bytes, one process
apart from the server) so that on 2 cores it takes little from the server; its CPU share is
printed so that you can judge. Run it on a quiet machine: it prints the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import harness
import numpy as np

sys.path.insert(0, str(harness.REPO / "tests"))

from serving import Server, serving  # tests/serving.py: the one way to start a server

REQUEST_TIMEOUT_S = 10.0
GOAL_SPEEDUP = 5.0
GOAL_P99_MS = 20.0
GOAL_EXPLAIN_ADDS_MS = 50.0


# --- the digits ------------------------------------------------------------------------------


def digit_pngs(count: int) -> list[bytes]:
    """``count`` real MNIST test digits (28x28, white on black, as in MNIST) as PNG bytes."""
    from PIL import Image

    if harness.SHARED_NPZ.is_file():
        with np.load(harness.SHARED_NPZ, allow_pickle=False) as npz:
            x = np.asarray(npz["x_test"])
    else:
        sys.path.insert(0, str(harness.REPO))
        from mnistctl.data.sample import read_sample

        x = np.asarray(read_sample()[0]["x_test"])
    out = []
    for pixels in x[:count]:
        buf = io.BytesIO()
        Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode="L").save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def healthz_request(port: int) -> bytes:
    """``GET /healthz``: the HTTP stack alone (no picture, no model), for comparison."""
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii")


def requests_for(digits: list[bytes], port: int, path: str = "/api/predict") -> list[bytes]:
    """Each digit as a complete HTTP/1.1 request (keep-alive is HTTP/1.1's default)."""
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: image/png\r\n"
        "Content-Length: {length}\r\n\r\n"
    )
    return [head.format(length=len(png)).encode("ascii") + png for png in digits]


# --- the client ------------------------------------------------------------------------------


@dataclass
class Sample:
    started: float  # perf_counter seconds
    seconds: float
    ok: bool


class BadAnswer(Exception):
    """The server answered something that is not a 200 prediction."""


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep_alive = -1, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
        elif name == "transfer-encoding":
            raise BadAnswer(f"unexpected Transfer-Encoding: {value.strip()}")
    if length < 0:
        raise BadAnswer("an answer without Content-Length")
    return status, await reader.readexactly(length), keep_alive


def check_answer(status: int, body: bytes) -> None:
    """A 200 with a prediction (or, for /healthz, ``{"status": "ok"}``)."""
    if status != 200:
        raise BadAnswer(f"status {status}: {body[:200]!r}")
    answer = json.loads(body)
    if answer == {"status": "ok"}:
        return
    if not isinstance(answer.get("label"), int) or len(answer.get("probabilities", ())) != 10:
        raise BadAnswer(f"not a prediction: {body[:200]!r}")
    if "maps" in answer and not (answer["maps"] and answer.get("layers")):
        raise BadAnswer(f"an explanation without maps or layers: {body[:200]!r}")


async def client(
    port: int,
    requests: list[bytes],
    first: int,
    stride: int,
    end: float,
    samples: list[Sample],
    errors: list[str],
) -> None:
    """Post requests ``first``, ``first + stride``, ... one after the other on one keep-alive
    connection until ``end`` (perf_counter); reconnects after an error."""
    index = first
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        while time.perf_counter() < end:
            request = requests[index % len(requests)]
            index += stride
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port), REQUEST_TIMEOUT_S
                    )
                reader, writer = conn
                started = time.perf_counter()
                writer.write(request)
                status, body, keep_alive = await asyncio.wait_for(
                    read_answer(reader), REQUEST_TIMEOUT_S
                )
                check_answer(status, body)
                samples.append(Sample(started, time.perf_counter() - started, True))
                if not keep_alive:
                    writer.close()
                    conn = None
            except (OSError, asyncio.IncompleteReadError, BadAnswer, ValueError) as exc:
                # OSError covers TimeoutError (asyncio.wait_for) and broken connections
                samples.append(Sample(started, time.perf_counter() - started, False))
                errors.append(f"{type(exc).__name__}: {exc}")
                if conn is not None:
                    conn[1].close()
                    conn = None
    finally:
        if conn is not None:
            conn[1].close()


@dataclass
class Level:
    """The numbers of one concurrency."""

    concurrency: int
    path: str
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float  # the server's process and its workers
    server_main_cpu_ms_per_request: float  # the server's process alone
    client_cpu_percent: float
    first_errors: list[str]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (nan if none)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(np.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command's name (None: no such process)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads, from /proc."""
    fields = _stat(pid)
    if fields is None:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and by them, ... (the server's preparation workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each of its descendants now running."""
    return {p: cpu_seconds(p) for p in [pid, *descendants(pid)]}


def used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``tree_cpu`` readings (a process started in between counts
    from zero; one that ended in between is lost)."""
    return sum(t - before.get(p, 0.0) for p, t in after.items() if t == t)


async def load(
    server: Server,
    requests: list[bytes],
    concurrency: int,
    warmup: float,
    seconds: float,
    path: str = "/api/predict",
) -> Level:
    """``concurrency`` clients for ``warmup`` + ``seconds``; only the last ``seconds`` count
    (requests that started and ended inside them)."""
    samples: list[Sample] = []
    errors: list[str] = []
    t0 = time.perf_counter() + warmup
    t1 = t0 + seconds
    spread = max(1, len(requests) // concurrency)  # each client starts at its own digit
    tasks = [
        client(server.port, requests, i * spread, 1, t1, samples, errors)
        for i in range(concurrency)
    ]
    runner = asyncio.gather(*tasks)
    await asyncio.sleep(max(0.0, t0 - time.perf_counter()))
    cpu_server0, cpu_client0 = tree_cpu(server.proc.pid), time.process_time()
    await asyncio.sleep(max(0.0, t1 - time.perf_counter()))
    cpu_server1, cpu_client1 = tree_cpu(server.proc.pid), time.process_time()
    await runner
    counted = [s for s in samples if s.started >= t0 and s.started + s.seconds <= t1]
    ok = sorted(s.seconds * 1000 for s in counted if s.ok)
    n = len(counted)
    return Level(
        concurrency=concurrency,
        path=path,
        seconds=seconds,
        requests=n,
        errors=sum(not s.ok for s in counted),
        requests_per_second=len(ok) / seconds,
        p50_ms=percentile(ok, 50),
        p90_ms=percentile(ok, 90),
        p99_ms=percentile(ok, 99),
        max_ms=ok[-1] if ok else float("nan"),
        server_cpu_ms_per_request=used(cpu_server0, cpu_server1) * 1000 / max(1, len(ok)),
        server_main_cpu_ms_per_request=(
            (cpu_server1[server.proc.pid] - cpu_server0[server.proc.pid]) * 1000 / max(1, len(ok))
        ),
        client_cpu_percent=(cpu_client1 - cpu_client0) * 100 / seconds,
        first_errors=errors[:5],
    )


def server_stack(pid: int) -> dict[str, Any]:
    """The server's HTTP parser and event loop (uvicorn's faster ones when installed: the same
    choice as the server's, made in this environment) and its number of worker processes."""
    sys.path.insert(0, str(harness.REPO))
    from mnistctl.serve.server import fastest

    http, loop = fastest()
    return {"http": http, "loop": loop, "workers": len(descendants(pid))}


# --- where the time goes (--phases) -------------------------------------------------------


def phases(run: Path, digits: list[bytes], calls: int = 50) -> dict[str, float]:
    """Milliseconds, in this process on one thread, of what a request costs the server besides
    HTTP: preparing one picture (``digit_from_bytes``, the server's own preparation) and one
    model call (the server's compiled function) at batch 1, 8 and 32 (median of ``calls``)."""
    from mnistctl.commands.common import open_run
    from mnistctl.data.images import digit_from_bytes
    from mnistctl.serve.model import load_served

    def median_ms(fn: Any, n: int) -> float:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return float(np.median(times))

    out: dict[str, float] = {}
    prepared = [digit_from_bytes(png) for png in digits[:32]]  # also warms Pillow up
    cycle = itertools.cycle(digits)
    out["prepare_ms"] = median_ms(lambda: digit_from_bytes(next(cycle)), 200)
    served = load_served(open_run(run, None))
    for n in (1, 8, 32):
        batch = np.stack(prepared[:n])
        out[f"model_batch_{n}_ms"] = median_ms(lambda b=batch: served(b), calls)
    return out


def print_phases(found: dict[str, float], levels: list[Level], out: Any) -> None:
    print("\nin-process, one thread (ms):", file=out)
    print(f"  prepare one picture:     {found['prepare_ms']:.2f}", file=out)
    for n in (1, 8, 32):
        call = found[f"model_batch_{n}_ms"]
        print(f"  model call, batch {n:>2}:    {call:.2f}  ({call / n:.2f} per picture)", file=out)
    for lv in levels:
        if lv.path == "/healthz":
            print(
                f"  GET /healthz at concurrency {lv.concurrency}: "
                f"{lv.requests_per_second:.0f} requests/s, "
                f"server CPU {lv.server_cpu_ms_per_request:.2f} ms/request (HTTP stack alone)",
                file=out,
            )


# --- the run ---------------------------------------------------------------------------------


def train_run(work: Path) -> Path:
    """A CNN trained for one epoch on the bundled sample (seconds to a minute on 2 cores)."""
    return harness.train_cnn(work, "--set", "data.dataset=mnist_sample", "--set", "train.epochs=1")


def markdown(levels: list[Level]) -> str:
    rows = [
        "| concurrency | requests/s | p50 ms | p90 ms | p99 ms | errors "
        "| server CPU ms/request | of it, main process |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in levels:
        if lv.path == "/healthz":
            continue
        rows.append(
            f"| {lv.concurrency}{' (explain)' if lv.path == '/api/explain' else ''} | "
            f"{lv.requests_per_second:.0f} | {lv.p50_ms:.1f} | "
            f"{lv.p90_ms:.1f} | {lv.p99_ms:.1f} | {lv.errors} | "
            f"{lv.server_cpu_ms_per_request:.2f} | {lv.server_main_cpu_ms_per_request:.2f} |"
        )
    return "\n".join(rows)


def verdict(levels: list[Level]) -> dict[str, Any]:
    by = {lv.concurrency: lv for lv in levels if lv.path == "/api/predict"}
    out: dict[str, Any] = {"errors": sum(lv.errors for lv in levels)}
    explained = {lv.concurrency: lv for lv in levels if lv.path == "/api/explain"}
    if 1 in by and 1 in explained:
        out["p50_ms_predict_at_1"] = by[1].p50_ms
        out["p50_ms_explain_at_1"] = explained[1].p50_ms
        out["explain_adds_ms_at_1"] = explained[1].p50_ms - by[1].p50_ms
        out["explain_goal_met"] = out["explain_adds_ms_at_1"] <= GOAL_EXPLAIN_ADDS_MS
    if 1 in by:
        out["p99_ms_at_1"] = by[1].p99_ms
        out["p99_goal_met"] = by[1].p99_ms < GOAL_P99_MS
    if 1 in by and 32 in by and by[1].requests_per_second > 0:
        out["speedup_32_vs_1"] = by[32].requests_per_second / by[1].requests_per_second
        out["speedup_goal_met"] = out["speedup_32_vs_1"] >= GOAL_SPEEDUP
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a trained run (default: train a CNN first)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured, per concurrency")
    parser.add_argument("--warmup", type=float, default=2.0, help="not counted, per concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--digits", type=int, default=1000, help="distinct test digits posted")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--out", type=Path, help="also write the raw results here (JSON)")
    parser.add_argument("--keep", type=Path, help="train into this folder and keep it")
    parser.add_argument(
        "--explain", action="store_true", help="also POST /api/explain at each concurrency"
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also: where the time goes (GET /healthz under the highest concurrency; picture "
        "preparation and model calls timed in-process)",
    )
    args = parser.parse_args()
    if any(c < 1 for c in args.concurrency) or args.seconds <= 0 or args.digits < 1:
        parser.error("--concurrency, --seconds and --digits must be positive")

    info = harness.machine_info()
    report = sys.stderr if args.json else sys.stdout
    with contextlib.redirect_stdout(report):
        harness.print_machine(info)
    digits = digit_pngs(args.digits)
    with harness.temp_dir("mnistctl-serve-load-", keep=bool(args.keep)) as tmp:
        work = args.keep or tmp
        run = harness.require_path(args.run) if args.run else train_run(work)
        print(f"run: {run}", file=report)
        with serving(run, log_dir=work) as server:
            stack = server_stack(server.proc.pid)
            print(
                f"server: {server.url} (pid {server.proc.pid}; {stack['http']}, "
                f"{stack['loop']}, {stack['workers']} preparation workers)",
                file=report,
                flush=True,
            )
            requests = requests_for(digits, server.port)
            levels = []
            plan = [(c, "/api/predict", requests) for c in args.concurrency]
            if args.explain:
                why = requests_for(digits, server.port, "/api/explain")
                plan += [(c, "/api/explain", why) for c in args.concurrency]
            if args.phases:
                plan.append((max(args.concurrency), "/healthz", [healthz_request(server.port)]))
            for c, path, reqs in plan:
                level = asyncio.run(load(server, reqs, c, args.warmup, args.seconds, path))
                levels.append(level)
                print(
                    f"  {path} concurrency {c:>3}: {level.requests_per_second:7.1f} requests/s, "
                    f"p99 {level.p99_ms:6.1f} ms, errors {level.errors}, "
                    f"client CPU {level.client_cpu_percent:.0f} %",
                    file=report,
                    flush=True,
                )
            stderr = server.stderr()
        code = server.exit_code
        found = phases(run, digits) if args.phases else {}
    summary = verdict(levels)
    result = {
        "machine": info,
        "run": str(run),
        "seconds": args.seconds,
        "warmup": args.warmup,
        "digits": len(digits),
        "levels": [asdict(lv) for lv in levels],
        "phases_ms": found,
        "summary": summary,
        "server_stack": stack,
        "server_exit_code": code,
        "server_traceback": "Traceback" in stderr,
        "load_end": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"\nmnistctl serve {run}, {args.seconds:g} s per concurrency:\n")
        print(markdown(levels))
        print()
        if "speedup_32_vs_1" in summary:
            print(
                f"requests/s at 32 / at 1: {summary['speedup_32_vs_1']:.1f}x "
                f"(goal >= {GOAL_SPEEDUP:g}x)"
            )
        if "p99_ms_at_1" in summary:
            print(f"p99 at concurrency 1: {summary['p99_ms_at_1']:.1f} ms (goal < {GOAL_P99_MS:g})")
        if "explain_adds_ms_at_1" in summary:
            print(
                f"p50 at concurrency 1: predict {summary['p50_ms_predict_at_1']:.1f} ms, explain "
                f"{summary['p50_ms_explain_at_1']:.1f} ms: explain adds "
                f"{summary['explain_adds_ms_at_1']:.1f} ms (goal <= {GOAL_EXPLAIN_ADDS_MS:g})"
            )
        print(f"errors: {summary['errors']} (goal 0); server exit code after Ctrl-C: {code}")
        if found:
            print_phases(found, levels, sys.stdout)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "Traceback" in stderr:
        print(f"the server printed a traceback:\n{stderr[-3000:]}", file=sys.stderr)
    if args.out:
        with contextlib.redirect_stdout(report):
            harness.write_json(args.out, result)
    if summary["errors"] or "Traceback" in stderr:
        sys.exit(1)


if __name__ == "__main__":
    main()
