"""Many pictures at once: the image files a command line names, prepared in parallel.

``expand_images`` turns ``predict``'s arguments into image files: a folder stands for the image
files in it (by extension, in name order), a glob pattern the shell left alone (quoted, or
matching nothing there) for the paths it matches, as if the shell had expanded it; anything
else is taken as it is.

``Preparation`` runs ``load_digit`` on each file in worker processes (``load_digits`` on a
chunk of files: the same results, prepared in batches), each made to the run's ``Target``
(``inputs.py``: 28x28 digits for MNIST's runs), and gathers the results in
order, with every file's problem. Processes, not threads: the work is many small numpy and
Pillow calls that hold the GIL (two threads were slower than one). The workers are
``mnistctl.procs``'s pool (``procs/pool.py``): fresh interpreters, sent absolute paths, a chunk
ahead of the one they work on, that send back only the prepared digits (3 KB each) and the
problems.
"""

from __future__ import annotations

import dataclasses
import errno
import glob
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mnistctl.data.inputs import MNIST_TARGET, Target, load_inputs
from mnistctl.errors import Location, UserError
from mnistctl.procs import usable_cpus
from mnistctl.procs.pool import Pool

__all__ = [
    "IMAGE_SUFFIXES",
    "WORKER_ENV",
    "ImageBatch",
    "Item",
    "Preparation",
    "expand_images",
    "prepare_images",
]

IMAGE_SUFFIXES = frozenset(
    {
        *(".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".gif", ".tif", ".tiff"),
        *(".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".pcx", ".tga", ".ico", ".avif", ".qoi"),
    }
)
"""A folder stands for its files with these extensions (any case): the raster formats Pillow
reads. Other files, hidden files and sub-folders in it are skipped."""

GLOB_CHARS = frozenset("*?[")
PARALLEL_MIN = 64  # fewer files than this are prepared here: starting workers costs more
CHUNK_MIN, CHUNK_MAX = 16, 256  # files per task sent to a worker
IN_FLIGHT = 2  # chunks sent to a worker ahead of its answers
LATE_MIN = 2  # chunks still waiting when result() is called for the last worker to start

WORKER_ENV = {
    **dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"),
    # glibc gives the memory of a large array back to the system when it is freed, and
    # faults it in again for the next (slow on virtual machines, and preparing a batch of
    # pictures churns through megabytes); workers keep it instead.
    "MALLOC_MMAP_THRESHOLD_": str(64 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20),
}
"""What a worker process's environment adds to this one's."""

_EXPECTED_FOLDER = "image files in it (.png, .jpg, .jpeg, .bmp, .gif, .tif, .webp, ...)"

Item = Path | UserError  # a file to prepare, or the problem with an argument


# ---------------------------------------------------------------------------------------------
# Folders and patterns


def expand_images(args: Sequence[str | os.PathLike[str]]) -> list[Item]:
    """Each argument as the image files it stands for, in the order given.

    A folder: its files with an image extension (IMAGE_SUFFIXES), in name order, not hidden
    ones, not in sub-folders. A pattern with ``*``, ``?`` or ``[`` that is not itself a path:
    the paths it matches in name order (``**`` spans folders), each as if typed, so a matched
    folder is expanded and a matched file is taken whatever its extension. Anything else: as
    it is (``load_digit`` says what is wrong with it). A folder without image files, or a
    pattern matching nothing, is a UserError in its place.
    """
    items: list[Item] = []
    for arg in args:
        path = Path(arg)
        if _is_dir(path):
            items.extend(_folder(path))
        elif GLOB_CHARS & set(str(arg)) and not os.path.lexists(path):
            matches = sorted(glob.glob(str(arg), recursive=True))
            if not matches:
                items.append(_no_match(str(arg)))
            for match in matches:
                items.extend(_folder(Path(match)) if _is_dir(Path(match)) else [Path(match)])
        else:
            items.append(path)
    return items


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _folder(folder: Path) -> list[Item]:
    """The image files in ``folder`` in name order (regular files and links to them), each
    entry that has an image name but cannot be one (a link that loops or cannot be followed,
    a pipe, socket or device: never opened, it could block) a UserError in its place."""
    try:
        with os.scandir(folder) as scan:
            entries = sorted(
                (entry for entry in scan if _image_name(entry.name)), key=lambda e: e.name
            )
            found = [_entry(folder, entry) for entry in entries]
    except OSError as exc:
        return [
            UserError(
                "cannot read the folder",
                location=Location(file=str(folder)),
                expected="a readable folder of image files",
                received=exc.strerror or type(exc).__name__,
                hint="check the folder's permissions",
            )
        ]
    items = [item for item in found if item is not None]
    if not items:
        return [
            UserError(
                "no image files in the folder",
                location=Location(file=str(folder)),
                expected=_EXPECTED_FOLDER,
                received=_folder_contents(folder),
                hint="name the files themselves if their names do not end in an image "
                "extension; sub-folders and hidden files are not read",
            )
        ]
    return items


def _image_name(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


_NOT_FILES = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _entry(folder: Path, entry: os.DirEntry[str]) -> Item | None:
    """A folder's entry with an image name: its path, None (a sub-folder, skipped) or the
    problem with it. A link to nowhere is its path (``load_digit`` says it is not found)."""
    path = folder / entry.name
    try:
        if entry.is_file(follow_symlinks=False):  # the usual case: no system call
            return path
        mode = entry.stat().st_mode  # follows links
    except FileNotFoundError:
        return path
    except OSError as exc:
        loop = exc.errno == errno.ELOOP
        return UserError(
            "a symbolic link that loops" if loop else "cannot follow the link",
            location=Location(file=str(path)),
            expected="an image file, or a link to one",
            received=exc.strerror or type(exc).__name__,
            hint="the link leads back to itself: point it at a picture or remove it"
            if loop
            else "check the permissions of the folders on the link's way",
        )
    if stat.S_ISDIR(mode):
        return None
    kind = _NOT_FILES.get(stat.S_IFMT(mode))
    if kind is None:
        return path
    return UserError(
        "not a regular file",
        location=Location(file=str(path)),
        expected="an image file",
        received=kind,
        hint="a folder's pipes, sockets and devices are not read (they could block); "
        "name a pipe itself on the command line to read a picture from it",
    )


def _folder_contents(folder: Path) -> str:
    try:
        count = sum(1 for _ in folder.iterdir())
    except OSError:
        count = 0
    if count == 0:
        return "an empty folder"
    return f"{count} entr{'y' if count == 1 else 'ies'}, none of them an image file"


def _no_match(pattern: str) -> UserError:
    return UserError(
        "no file matches the pattern",
        location=Location(file=pattern),
        expected="an existing path, or a pattern that matches at least one",
        received="no matches",
        hint="check the folder and the pattern",
    )


# ---------------------------------------------------------------------------------------------
# Preparing many files


@dataclass
class ImageBatch:
    """The pictures of the files among the items, in order: ``digits[i]`` (the target's
    dims, float32) is the file ``names[i]``'s (zeros where the file has a problem);
    ``errors`` holds every problem, in the order of the items; ``outcomes`` has one entry
    per item, in order: the index in ``names`` of a prepared picture, or its problem."""

    names: list[str]
    digits: npt.NDArray[np.float32]
    errors: list[UserError]
    outcomes: list[int | UserError]

    @property
    def prepared(self) -> list[int]:
        """The indices in ``names`` of the pictures prepared, in order."""
        return [n for n in self.outcomes if isinstance(n, int)]


def prepare_images(
    items: Sequence[Item], *, workers: int | None = None, target: Target = MNIST_TARGET
) -> ImageBatch:
    """Every file among ``items`` made to ``target``, in parallel (see ``Preparation``)."""
    with Preparation(items, workers=workers, target=target) as preparation:
        return preparation.result()


class Preparation:
    """``load_digit`` on every file among ``items``, started at once, so that the caller can do
    other work meanwhile; ``result()`` waits and gathers. Use it in a ``with`` block: leaving
    it early stops the workers.

    With PARALLEL_MIN files or more and ``workers`` (default ``usable_cpus()``) above 1,
    regular files go to that many worker processes, in chunks: all but one start at once, the
    last when ``result()`` is called if LATE_MIN chunks or more are still waiting then (until
    then this process is busy on a core of its own: ``predict`` imports TensorFlow meanwhile,
    which the pictures of a folder often take less time than). Anything else (pipes, devices,
    paths under /dev and /proc, whose meaning is this process's) is read here, as is every
    file when workers cannot start, and the files of a worker that died.
    """

    def __init__(
        self, items: Sequence[Item], *, workers: int | None = None, target: Target = MNIST_TARGET
    ) -> None:
        self._items = list(items)
        self._target = target
        self._paths = {i: item for i, item in enumerate(self._items) if isinstance(item, Path)}
        self._chunks: list[list[int]] = []  # positions in items
        self._done: list[Future[_Done]] = []  # by chunk
        self._pool: Pool | None = None
        remote = [i for i, path in self._paths.items() if _worker_can_read(path)]
        count = usable_cpus() if workers is None else workers
        self._late = 0  # workers to start in result()
        if count > 1 and len(remote) >= PARALLEL_MIN:
            self._start(remote, count)

    def __enter__(self) -> Preparation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (what they are preparing is dropped)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _start(self, files: list[int], workers: int) -> None:
        size = max(CHUNK_MIN, min(CHUNK_MAX, len(files) // (workers * 8)))
        self._chunks = [files[at : at + size] for at in range(0, len(files), size)]
        count = min(workers, len(self._chunks))
        self._late = 1 if count > 1 else 0
        self._pool = Pool(
            _chunk_preparer, workers=count - self._late, in_flight=IN_FLIGHT, env=WORKER_ENV
        )
        self._done = [
            self._pool.submit(([os.path.abspath(self._paths[i]) for i in chunk], self._target))
            for chunk in self._chunks
        ]

    def result(self) -> ImageBatch:
        """Wait for every file: the digits in order, and every problem in order."""
        slot = {pos: n for n, pos in enumerate(self._paths)}
        digits = np.zeros((len(slot), *self._target.dims), dtype=np.float32)
        errors: dict[int, UserError] = {}

        def here(positions: Iterable[int]) -> None:
            chosen = list(positions)
            done = load_inputs([self._paths[pos] for pos in chosen], self._target)
            for pos, digit in zip(chosen, done, strict=True):
                if isinstance(digit, UserError):
                    errors[pos] = digit
                else:
                    digits[slot[pos]] = digit

        if self._pool is not None and self._late and self._pool.waiting >= LATE_MIN:
            self._pool.add_workers(self._late)
        chunked = {pos for chunk in self._chunks for pos in chunk}
        here(pos for pos in self._paths if pos not in chunked)  # while the workers work
        for chunk, future in zip(self._chunks, self._done, strict=True):
            try:
                done = future.result()
            except Exception:  # no worker, it died (killed?), a bug there: done here instead
                here(chunk)
                continue
            digits[[slot[pos] for pos in chunk]] = done.digits
            for at, problem in done.errors:
                errors[chunk[at]] = _relocated(problem, str(self._paths[chunk[at]]))
        self.close()
        outcomes = [
            item if isinstance(item, UserError) else errors.get(pos, slot[pos])
            for pos, item in enumerate(self._items)
        ]
        names = [str(path) for path in self._paths.values()]
        problems = [err for err in outcomes if isinstance(err, UserError)]
        return ImageBatch(names, digits, problems, outcomes)


def _worker_can_read(path: Path) -> bool:
    """A regular file that means the same in another process."""
    absolute = os.path.abspath(path)
    if absolute.startswith(("/dev/", "/proc/")):
        return False
    try:
        return stat.S_ISREG(os.stat(absolute).st_mode)
    except (OSError, ValueError):
        return False


def _relocated(err: UserError, name: str) -> UserError:
    """A worker's error about an absolute path, about the path as the user gave it."""
    return dataclasses.replace(err, location=dataclasses.replace(err.location, file=name))


# --- in the workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Done:
    digits: npt.NDArray[np.float32]  # one per path, zeros where it failed
    errors: list[tuple[int, UserError]]  # (index in the chunk, the problem)


def _chunk_preparer() -> Callable[[tuple[list[str], Target]], _Done]:
    """A worker's setup (``mnistctl.procs``): what it runs on each chunk of paths."""
    return _prepare_chunk


def _prepare_chunk(task: tuple[list[str], Target]) -> _Done:
    paths, target = task
    digits = np.zeros((len(paths), *target.dims), dtype=np.float32)
    errors: list[tuple[int, UserError]] = []
    for k, digit in enumerate(load_inputs(paths, target)):
        if isinstance(digit, UserError):
            errors.append((k, digit))
        else:
            digits[k] = digit
    return _Done(digits, errors)
