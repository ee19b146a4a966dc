"""The command line: thin adapters from arguments to one library call each.

Nothing here imports TensorFlow, Keras, matplotlib or Pillow at import time: the commands that
need them import the modules that do, so ``--help`` and ``validate`` stay instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from mnistctl.errors import UserError, UserErrors

app = typer.Typer(
    name="mnistctl",
    help="Define, train and understand Keras neural networks on MNIST from a YAML spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

T = TypeVar("T")

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a spec value by dotted path (value parsed as YAML); repeatable.",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else there.")
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        envvar="MNISTCTL_DATA",
        help="Local data: a .npz like Keras's mnist.npz or a folder of IDX files.",
        show_envvar=True,
    ),
]
RunArg = Annotated[
    Path, typer.Argument(help="A run directory, or a spec file meaning its latest run.")
]
FindRunsOpt = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", help="Where to look for a spec's runs (default: runs/).", metavar="DIR"
    ),
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option("--runs-dir", help="Where run directories go (default: runs/).", metavar="DIR"),
]


def _guard(action: Callable[[], T], *, tensorflow: bool = False) -> T:
    """Run a command body; a user-facing error becomes one clean message and exit 1.

    ``tensorflow``: the command imports TensorFlow, whose native log lines go to a log file.
    """
    from mnistctl.ml.native_log import native_stderr_to_log
    from mnistctl.ui.render import render_errors, stderr_console

    try:
        if tensorflow:
            with native_stderr_to_log():
                return _guard(action)
        return action()
    except (UserError, UserErrors) as err:
        render_errors(err, stderr_console())
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        stderr_console().print("interrupted", style="yellow")
        raise typer.Exit(code=130) from None


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="Spec files to check.")],
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check specs: YAML, schema, graph, shapes and fit to the data. Never imports TensorFlow."""
    from mnistctl.spec import load_spec
    from mnistctl.ui.render import print_json, render_errors, stderr_console

    results: list[dict[str, Any]] = []
    failed = False
    console = stderr_console()
    for path in specs:
        try:
            spec = load_spec(path, set_ or [])
        except (UserError, UserErrors) as err:
            failed = True
            errs = err.errors if isinstance(err, UserErrors) else [err]
            results.append(
                {"file": str(path), "valid": False, "errors": [e.one_line() for e in errs]}
            )
            render_errors(err, console)
            continue
        info = spec.model_info
        results.append(
            {"file": str(path), "valid": True, "name": spec.name, "total_params": info.total}
        )
        if not json_:
            console.print(
                f"{path}: ok ({spec.name}: {len(info.layers)} layers, {info.total:,} parameters)"
            )
    if json_:
        print_json(results)
    if failed:
        raise typer.Exit(code=1)


@app.command()
def summary(
    spec: Annotated[Path, typer.Argument(help="The spec file.")],
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Per-layer output shapes and parameter counts, like Keras's model.summary()."""
    from mnistctl.spec import load_spec
    from mnistctl.ui.render import print_json, render_summary, stdout_console

    loaded = _guard(lambda: load_spec(spec, set_ or []))
    if json_:
        print_json(loaded.model_info.to_json(loaded.name))
    else:
        render_summary(loaded.name, loaded.model_info, stdout_console())


@app.command()
def schema() -> None:
    """Print the JSON Schema of a spec."""
    from mnistctl.spec.schema import schema_text

    sys.stdout.write(schema_text())


@app.command()
def train(
    spec: Annotated[Path | None, typer.Argument(help="The spec file.")] = None,
    set_: SetOpt = None,
    data: DataOpt = None,
    runs_dir: RunsDirOpt = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue an interrupted or killed run.", metavar="RUN"),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Build, compile and fit a model; writes a run directory and shows live progress."""
    if (spec is None) == (resume is None):
        from mnistctl.ui.render import stderr_console

        stderr_console().print(
            "error: give a SPEC to train, or --resume RUN to continue a run (not both)"
        )
        raise typer.Exit(code=2)
    from mnistctl.commands.train import resume_run, train_spec

    if resume is not None:
        if set_:
            from mnistctl.ui.render import stderr_console

            stderr_console().print("error: --set cannot change a run being resumed")
            raise typer.Exit(code=2)
        code = _guard(
            lambda: resume_run(resume, json_output=json_, runs_dir=runs_dir), tensorflow=True
        )
    else:
        assert spec is not None
        code = _guard(
            lambda: train_spec(
                spec,
                set_ or [],
                data=data,
                runs_dir=runs_dir or Path("runs"),
                json_output=json_,
            ),
            tensorflow=True,
        )
    raise typer.Exit(code=code)


@app.command()
def evaluate(
    run: RunArg,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Test-set loss, accuracy, per-class metrics and the confusion matrix of a run."""
    from mnistctl.commands.evaluate import evaluate_run

    _guard(
        lambda: evaluate_run(run, data=data, json_output=json_, runs_dir=runs_dir),
        tensorflow=True,
    )


@app.command()
def plot(
    run: RunArg,
    data: DataOpt = None,
    runs_dir: FindRunsOpt = None,
) -> None:
    """Learning curves, confusion matrix, misclassified digits and the model graph as PNGs."""
    from mnistctl.commands.plot import plot_run

    _guard(lambda: plot_run(run, data=data, runs_dir=runs_dir), tensorflow=True)


@app.command()
def predict(
    run: RunArg,
    images: Annotated[list[Path], typer.Argument(help="Image files (PNG, JPEG, ...).")],
    runs_dir: FindRunsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The digit in each image, with probabilities."""
    from mnistctl.commands.predict import predict_images

    _guard(
        lambda: predict_images(run, images, json_output=json_, runs_dir=runs_dir),
        tensorflow=True,
    )


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
