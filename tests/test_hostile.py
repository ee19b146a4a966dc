"""Hostile and broken inputs through the command line: model files, run directories, specs,
images and data sets.

Every case must end in exit 1 with one line on stderr that names the problem, no traceback,
nothing on stdout, and nothing written: no new run directory, no file created or changed. Files
that would run code if loaded unsafely drop a marker file; the marker must never appear.

Everything runs in-process and no model is trained here except one tiny run (the `..yaml` spec);
a "run" is a resolved spec and a model file put together by hand.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import (
    TINY_SPEC,
    assert_user_error,
    cli,
    digit_png,
    make_npz,
    real_arrays,
    run_dirs,
    snapshot,
    write_spec,
)

from mnistctl.errors import UserError
from mnistctl.runs import layout, record

# --------------------------------------------------------------------------------------------
# fixtures


@dataclass
class Kit:
    base: Path
    data: Path  # a small good .npz
    good_model: Path  # a plain, untrained Dense model matching TINY_SPEC (784 -> 10)
    lambda_model: Path  # the same with a Lambda layer that would create MARKER if it ran
    lambda_marker: Path
    digit: Path  # a good digit PNG


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    import keras

    base = tmp_path_factory.mktemp("hostile")
    data = make_npz(base / "small.npz", 200, 50)
    inp = keras.Input((784,), name="input_tensor")
    out = keras.layers.Dense(10, activation="softmax", name="output_tensor")(inp)
    good = base / "good.keras"
    keras.Model(inp, out).save(good)

    marker = base / "lambda-ran"
    # the path is a constant in the lambda's code, so the code alone is the payload
    payload = eval(f"lambda t: (open({str(marker)!r}, 'w').close(), t)[1]")
    inp = keras.Input((784,), name="input_tensor")
    hidden = keras.layers.Lambda(payload, name="evil")(inp)
    out = keras.layers.Dense(10, activation="softmax", name="output_tensor")(hidden)
    model = keras.Model(inp, out)  # building it runs the lambda once
    evil = base / "lambda.keras"
    model.save(evil)
    # positive control: the file really runs its code when loaded unsafely
    marker.unlink()
    keras.saving.load_model(evil, safe_mode=False)
    assert marker.exists(), "the Lambda payload does not work: the test would prove nothing"
    marker.unlink()

    digit = digit_png(base / "digit.png", real_arrays()["x_test"][0])
    return Kit(base, data, good, evil, marker, digit)


def make_run(folder: Path, kit: Kit, model: bytes | Path | None) -> Path:
    """A run directory by hand: resolved spec (data path recorded), metrics, and a model file
    (a path to copy, raw bytes, or None for no model)."""
    run = folder / "runs" / "tiny" / "20250101T000000Z"
    (run / "plots").mkdir(parents=True)
    spec = TINY_SPEC.replace("validation_split: 0.1", f"validation_split: 0.1\n  path: {kit.data}")
    (run / "spec.yaml").write_text(spec)
    (run / "metrics.json").write_text(json.dumps({"status": "interrupted", "epochs": 3}))
    if isinstance(model, Path):
        (run / "model.keras").write_bytes(model.read_bytes())
    elif isinstance(model, bytes):
        (run / "model.keras").write_bytes(model)
    return run


def expect_nothing_written(
    folder: Path, action: Callable[[], Any], *fragments: str, lines: int | None = 1
) -> str:
    """Run ``action`` (a cli call); assert a clean user error and an unchanged ``folder``."""
    before = snapshot(folder)
    result = action()
    line = assert_user_error(result, *fragments, lines=lines)
    after = snapshot(folder)
    assert after == before, {
        "new": sorted(set(after) - set(before)),
        "changed": sorted(k for k in before if k in after and before[k] != after[k]),
        "removed": sorted(set(before) - set(after)),
    }
    return line


# --------------------------------------------------------------------------------------------
# model files


def _truncated(kit: Kit) -> bytes:
    blob = kit.good_model.read_bytes()
    return blob[: len(blob) // 2]


def _random(_kit: Kit) -> bytes:
    return np.random.default_rng(0).bytes(5000)


def _plain_zip(_kit: Kit) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a model")
    return buf.getvalue()


def _forged_config(kit: Kit) -> bytes:
    """A real archive whose config.json asks for subprocess.Popen(["touch", marker])."""
    marker = kit.base / "forged-ran"
    config = {
        "module": "subprocess",
        "class_name": "Popen",
        "config": {"args": ["touch", str(marker)]},
        "registered_name": None,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(kit.good_model) as zin, zipfile.ZipFile(buf, "w") as zout:
        for item in zin.namelist():
            body = json.dumps(config).encode() if item == "config.json" else zin.read(item)
            zout.writestr(item, body)
    return buf.getvalue()


def _damaged_member(kit: Kit) -> bytes:
    """A real archive with one byte of the weights flipped (the CRC no longer matches)."""
    blob = bytearray(kit.good_model.read_bytes())
    with zipfile.ZipFile(kit.good_model) as z:
        info = z.getinfo("model.weights.h5")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    blob[start] ^= 0xFF
    return bytes(blob)


MODEL_CASES: dict[str, tuple[Callable[[Kit], bytes | Path], tuple[str, ...]]] = {
    "lambda": (lambda k: k.lambda_model, ("contains code", "lambda")),
    "forged-config": (_forged_config, ("corrupt or unsupported model file",)),
    "truncated": (_truncated, ("corrupt model file",)),
    "random-bytes": (_random, ("corrupt model file",)),
    "zip-not-keras": (_plain_zip, ("corrupt model file",)),
    "damaged-member": (_damaged_member, ("corrupt model file",)),
    "empty": (lambda _k: b"", ("corrupt model file",)),
}
COMMANDS = ("evaluate", "predict", "plot")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_model_file(kit: Kit, tmp_path: Path, case: str, command: str) -> None:
    make, fragments = MODEL_CASES[case]
    run = make_run(tmp_path, kit, make(kit))
    args: list[str | Path] = [command, run, *([kit.digit] if command == "predict" else [])]
    line = expect_nothing_written(tmp_path, lambda: cli(*args), *fragments)
    assert line.startswith(str(run / "model.keras") + ":")
    assert not kit.lambda_marker.exists()
    assert not (kit.base / "forged-ran").exists()


# --------------------------------------------------------------------------------------------
# run directories


def _no_model(folder: Path, kit: Kit) -> Path:
    return make_run(folder, kit, None)


def _missing(folder: Path, _kit: Kit) -> Path:
    return folder / "runs" / "tiny" / "nope"


def _no_spec(folder: Path, _kit: Kit) -> Path:
    (folder / "empty").mkdir()
    return folder / "empty"


def _not_a_spec(folder: Path, _kit: Kit) -> Path:
    path = folder / "notes.txt"
    path.write_text("hello")
    return path


def _tagged_spec(folder: Path, kit: Kit) -> Path:
    run = make_run(folder, kit, kit.good_model)
    marker = folder / "tag-ran"
    text = (run / "spec.yaml").read_text()
    evil = f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    (run / "spec.yaml").write_text(evil + text.replace("name: tiny\n", ""))
    return run


RUN_CASES: dict[str, tuple[Callable[[Path, Kit], Path], tuple[str, ...], tuple[str, ...]]] = {
    # case: (make, commands, fragments)
    "no-model": (_no_model, COMMANDS, ("no model.keras", "'interrupted'", "resume")),
    "missing": (_missing, (*COMMANDS, "resume"), ("no such run directory", "nothing there")),
    "no-spec": (_no_spec, (*COMMANDS, "resume"), ("not a run directory",)),
    "not-a-spec": (_not_a_spec, (*COMMANDS, "resume"), ("a file that is not a spec",)),
    "tagged-spec": (_tagged_spec, (*COMMANDS, "resume"), ("python/object/apply", "not allowed")),
}


def _run_cases() -> list[tuple[str, str]]:
    return [
        (case, command) for case, (_m, commands, _f) in RUN_CASES.items() for command in commands
    ]


@pytest.mark.parametrize(("case", "command"), _run_cases())
def test_bad_run_directory(kit: Kit, tmp_path: Path, case: str, command: str) -> None:
    make, _commands, fragments = RUN_CASES[case]
    run = make(tmp_path, kit)
    if command == "resume":
        args: list[str | Path] = ["train", "--resume", run]
    else:
        args = [command, run, *([kit.digit] if command == "predict" else [])]
    expect_nothing_written(tmp_path, lambda: cli(*args), *fragments, lines=None)
    assert not (tmp_path / "tag-ran").exists()


def _resumable(folder: Path, kit: Kit) -> Path:
    """An interrupted run after one epoch (the checkpoint is just a plain model)."""
    run = make_run(folder, kit, kit.good_model)
    (run / "checkpoint-1.keras").write_bytes(kit.good_model.read_bytes())
    row = {"epoch": 1, "loss": 2.0, "accuracy": 0.2}
    state = {"epochs_completed": 1, "checkpoint": "checkpoint-1.keras", "history": [row]}
    (run / record.STATE).write_text(json.dumps(state))
    return run


STATE_CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # case: (file, content, fragments)
    "state-not-json": (record.STATE, "{not json", ("damaged json file",)),
    "state-a-list": (record.STATE, "[1, 2]", ("damaged run state",)),
    "state-epochs-text": (
        record.STATE,
        '{"epochs_completed": "many", "checkpoint": "checkpoint-1.keras", "history": []}',
        ("damaged run state",),
    ),
    "state-history-text": (
        record.STATE,
        '{"epochs_completed": 1, "checkpoint": "checkpoint-1.keras", "history": "x"}',
        ("damaged run state",),
    ),
    "state-checkpoint-escapes": (
        record.STATE,
        '{"epochs_completed": 1, "checkpoint": "../../../good.keras", "history": [{"loss": 1}]}',
        ("damaged run state",),
    ),
    "state-too-many-epochs": (
        record.STATE,
        '{"epochs_completed": 99, "checkpoint": "checkpoint-99.keras", "history": []}',
        ("damaged run state",),
    ),
    "metrics-a-list": ("metrics.json", "[]", ("damaged json file",)),
    "checkpoint-random": ("checkpoint-1.keras", "garbage", ("corrupt model file",)),
}


@pytest.mark.parametrize("case", list(STATE_CASES))
def test_resume_with_damaged_state(kit: Kit, tmp_path: Path, case: str) -> None:
    run = _resumable(tmp_path, kit)
    name, content, fragments = STATE_CASES[case]
    (run / name).write_text(content)
    expect_nothing_written(tmp_path, lambda: cli("train", "--resume", run), *fragments)


# --------------------------------------------------------------------------------------------
# specs


def _spec_with(tmp_path: Path, first_line: str, filename: str = "spec.yaml") -> Path:
    body = "\n".join(line for line in TINY_SPEC.splitlines() if not line.startswith("name:"))
    return write_spec(tmp_path, first_line + "\n" + body + "\n", filename)


SPEC_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    # case: (first line, replacing the name; fragments). {marker} is filled in.
    "os-system": (
        "name: !!python/object/apply:os.system ['touch {marker}']",
        ("python/object/apply:os.system", "not allowed"),
    ),
    "python-name": ("name: !!python/name:os.system", ("python/name:os.system", "not allowed")),
    "python-new": (
        "name: !!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        ("python/object/new", "not allowed"),
    ),
    "escape-parent": ("name: ../../evil", ("invalid name", "../../evil")),
    "escape-dotdot": ("name: '..'", ("invalid name",)),
    "escape-absolute": ("name: /tmp/evil", ("invalid name",)),
    "escape-slash": ("name: a/../../evil", ("invalid name",)),
    "alias-bomb": (
        "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(
            f"x{i}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(7)
        )
        + "name: tiny",
        ("too many values",),
    ),
}


@pytest.mark.parametrize("case", list(SPEC_CASES))
def test_hostile_spec(kit: Kit, tmp_path: Path, case: str) -> None:
    line, fragments = SPEC_CASES[case]
    marker = tmp_path / "spec-ran"
    spec = _spec_with(tmp_path, line.format(marker=marker))
    runs_dir = tmp_path / "runs"
    args = ("train", spec, "--data", kit.data, "--runs-dir", runs_dir)
    first = expect_nothing_written(tmp_path, lambda: cli(*args), *fragments, lines=None)
    assert first.startswith(f"{spec}:")
    assert not marker.exists() and not runs_dir.exists()
    assert not list(tmp_path.parent.glob("**/evil"))
    validated = cli("validate", spec)
    assert validated.exit_code == 1 and "Traceback" not in validated.stderr


@pytest.mark.parametrize(
    "name", ["..", ".", "", "../evil", "a/../../evil", "/tmp/evil", "a/b", "..\\evil"]
)
def test_run_names_never_leave_the_runs_dir(tmp_path: Path, name: str) -> None:
    """The last line of defence, below the schema: new_run_dir refuses such names."""
    runs_dir = tmp_path / "inner" / "runs"
    runs_dir.mkdir(parents=True)
    try:
        run = layout.new_run_dir(runs_dir, name)
    except UserError as err:
        assert "invalid run name" in str(err)
    else:  # a backslash is a plain character on POSIX: allowed only as one folder inside
        assert run.parent.parent == runs_dir.resolve(), run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inner"]


def test_spec_file_named_dotdot_yaml(kit: Kit, tmp_path: Path) -> None:
    """``..yaml`` has the stem ``.``: the default run name must still be a plain folder."""
    spec = _spec_with(tmp_path, "", filename="..yaml")
    checked = cli("validate", spec, "--json")
    assert checked.exit_code == 0, checked.stderr
    name = json.loads(checked.stdout)[0]["name"]
    assert name not in ("", ".", "..") and "/" not in name
    runs_dir = tmp_path / "runs"
    result = cli(
        "train", spec, "--data", kit.data, "--runs-dir", runs_dir,
        "--set", "train.epochs=1", "--set", "data.train_samples=64", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (run,) = run_dirs(runs_dir)
    assert Path(json.loads(result.stdout)["run_dir"]) == run
    assert run.parent.parent == runs_dir and run.parent.name == name


# --------------------------------------------------------------------------------------------
# images


def _bomb_png() -> bytes:
    """A valid PNG header claiming 100,000 x 100,000 pixels, with a tiny compressed body."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 100_000, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _truncated_png(kit: Kit) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    big = Image.open(kit.digit).resize((280, 280))
    big.save(buf, format="PNG")
    blob = buf.getvalue()
    return blob[: len(blob) // 2]


def _blank_png(_kit: Kit) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (28, 28), 0).save(buf, format="PNG")
    return buf.getvalue()


IMAGE_CASES: dict[str, tuple[Callable[[Kit], bytes | None], tuple[str, ...]]] = {
    "empty": (lambda _k: b"", ("image file is empty",)),
    "truncated-png": (_truncated_png, ("damaged or truncated",)),
    "text-file": (lambda _k: b"this is not a picture\n", ("not an image file",)),
    "decompression-bomb": (lambda _k: _bomb_png(), ("image is too large",)),
    "blank": (_blank_png, ("no digit found",)),
    "missing": (lambda _k: None, ("image file not found",)),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_bad_image(kit: Kit, tmp_path: Path, case: str) -> None:
    make, fragments = IMAGE_CASES[case]
    run = make_run(tmp_path, kit, kit.good_model)
    image = tmp_path / f"{case}.png"
    blob = make(kit)
    if blob is not None:
        image.write_bytes(blob)
    line = expect_nothing_written(
        tmp_path, lambda: cli("predict", run, image, "--json"), *fragments
    )
    assert line.startswith(f"{image}:")


def test_every_bad_image_is_reported(kit: Kit, conv_run: Path, tmp_path: Path) -> None:
    """Several bad images: one line each (and a count), in order; they do not stop the good
    one (predicted, exit 3: some were not). All of them bad: exit 1, as ``test_bad_image``."""
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("hello")
    missing = tmp_path / "missing.png"
    result = cli("predict", conv_run, empty, kit.digit, text, missing)
    assert result.exit_code == 3, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines[1:-1]] == [str(empty), str(text), str(missing)]
    assert lines[-1] == "3 of 4 not predicted", result.stderr
    assert result.stdout.count("not predicted") == 3 and kit.digit.name in result.stdout


# --------------------------------------------------------------------------------------------
# data sets, through 'mnistctl train'


def _arrays(**changes: Any) -> dict[str, Any]:
    real = real_arrays()
    arrays: dict[str, Any] = {
        "x_train": real["x_train"][:50],
        "y_train": real["y_train"][:50],
        "x_test": real["x_test"][:20],
        "y_test": real["y_test"][:20],
    }
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def _npz(path: Path, **changes: Any) -> Path:
    np.savez(path, **_arrays(**changes))
    return path


class _Evil:
    """Pickles into a call that creates the marker when unpickled."""

    marker = ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def _pickled(path: Path) -> Path:
    evil = _Evil()
    evil.marker = str(path.parent / "pickle-ran")
    objects = np.empty(2, dtype=object)
    objects[0], objects[1] = evil, evil
    np.savez(path, **_arrays(y_train=objects))
    return path


def _nan(path: Path) -> Path:
    x = real_arrays()["x_train"][:50].astype(np.float32) / 255
    x[3, 10, 10] = np.nan
    return _npz(path, x_train=x)


def _truncated_npz(path: Path) -> Path:
    _npz(path)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) * 2 // 3])
    return path


def _idx_bad_magic(path: Path) -> Path:
    folder = path.with_suffix("")
    folder.mkdir()
    arrays = _arrays()
    names = {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "y_test": "t10k-labels-idx1-ubyte",
    }
    for key, name in names.items():
        arr = np.asarray(arrays[key], dtype=np.uint8)
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
        (folder / name).write_bytes(header + arr.tobytes())
    (folder / names["x_train"]).write_bytes(b"\x12\x34\x08\x03" + b"\x00" * 100)
    return folder


def _idx_gz_garbage(path: Path) -> Path:
    folder = _idx_bad_magic(path)
    (folder / "train-images-idx3-ubyte").unlink()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"x" * 10)[:-4])
    return folder


def _write(content: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(content)
        return path

    return make


DATA_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "empty-file": (_write(b""), ("empty",)),
    "text-file": (_write(b"x_train,y_train\n1,2\n"), ("not a .npz file",)),
    "truncated-npz": (_truncated_npz, ("damaged or truncated",)),
    "wrong-keys": (lambda p: _npz(p, x_test=None, images=np.zeros(3)), ("missing array", "x_test")),
    "pickled-objects": (_pickled, ("python objects",)),
    "nan-pixels": (_nan, ("nan",)),
    "labels-out-of-range": (
        lambda p: _npz(p, y_train=np.full(50, 10, np.uint8)),  # an 11th class: not this model's
        ("does not fit 11 classes",),
    ),
    "negative-labels": (lambda p: _npz(p, y_test=np.full(20, -1, np.int64)), ("out of range",)),
    "wrong-image-shape": (
        lambda p: _npz(p, x_train=np.zeros((50, 32, 32), np.uint8)),
        ("does not fit the data's pictures",),
    ),
    "label-count-mismatch": (lambda p: _npz(p, y_train=np.zeros(49, np.uint8)), ("labels",)),
    "empty-training-set": (
        lambda p: _npz(p, x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)),
        ("empty",),
    ),
    "idx-bad-magic": (_idx_bad_magic, ("train-images-idx3-ubyte",)),
    "idx-gz-garbage": (_idx_gz_garbage, ("train-images-idx3-ubyte.gz",)),
    "empty-folder": (lambda p: p.with_suffix("").mkdir() or p.with_suffix(""), ("idx",)),
}


AT_THE_SPEC = ("labels-out-of-range", "wrong-image-shape")  # the model does not fit the data


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data(kit: Kit, tmp_path: Path, case: str) -> None:
    make, fragments = DATA_CASES[case]
    data = make(tmp_path / "data.npz")
    spec = write_spec(tmp_path)
    runs_dir = tmp_path / "runs"
    expect_nothing_written(
        tmp_path,
        lambda: cli("train", spec, "--data", data, "--runs-dir", runs_dir),
        *fragments,
        lines=None if case in AT_THE_SPEC else 1,  # at a layer's line: an excerpt follows
    )
    assert not runs_dir.exists()
    assert not (tmp_path / "pickle-ran").exists()


@pytest.mark.parametrize("command", ["evaluate", "plot"])
@pytest.mark.parametrize("case", ["truncated-npz", "pickled-objects"])
def test_bad_data_option_on_a_run(kit: Kit, tmp_path: Path, command: str, case: str) -> None:
    """``--data`` on evaluate and plot is checked as on train; the run is left as it was."""
    make, fragments = DATA_CASES[case]
    data = make(tmp_path / "data.npz")
    run = make_run(tmp_path, kit, kit.good_model)
    expect_nothing_written(tmp_path, lambda: cli(command, run, "--data", data), *fragments)
    assert not (tmp_path / "pickle-ran").exists()


def test_pickle_payload_is_real(tmp_path: Path) -> None:
    """Positive control for 'pickled-objects': loading with pickles allowed runs the payload."""
    path = _pickled(tmp_path / "data.npz")
    with np.load(path, allow_pickle=True) as npz:
        npz["y_train"]
    assert (tmp_path / "pickle-ran").exists()


def test_hostile_case_count() -> None:
    """The number of hostile cases above (reported by the end-to-end suite)."""
    count = (
        len(MODEL_CASES) * len(COMMANDS)
        + len(_run_cases())
        + len(STATE_CASES)
        + len(SPEC_CASES)
        + 8  # run names
        + 1  # ..yaml
        + len(IMAGE_CASES)
        + 1  # several bad images at once
        + len(DATA_CASES)
        + 4  # bad --data on evaluate and plot
    )
    assert count == 90, count
