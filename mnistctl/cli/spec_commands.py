"""The commands on a spec: validate, summary, schema and train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistctl.cli.app import DataOpt, JsonOpt, RunsDirOpt, SetOpt, app, guard, usage_error
from mnistctl.cli.seeds_option import SeedsCommand, SeedsOpt
from mnistctl.startup import heavy_imports


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="Spec files to check.")],
    set_: SetOpt = None,
    data: DataOpt = None,
    resolved: Annotated[
        bool,
        typer.Option(
            "--resolved",
            help="Print SPEC resolved (extends, set and edit applied): a plain spec that trains "
            "as SPEC does; YAML, or JSON with --json.",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Check specs: YAML, schema, graph, shapes and fit to the data. Never imports TensorFlow."""
    from mnistctl.commands.validate import validate_specs
    from mnistctl.ui.console import plain, print_json, stderr_console
    from mnistctl.ui.errors import render_errors

    if resolved:
        if len(specs) != 1:
            raise usage_error("--resolved prints one spec: give one SPEC")
        _print_resolved(specs[0], set_ or [], data, json_)
        return
    console = stderr_console()
    results = validate_specs(specs, set_ or [], data=data)
    for result in results:
        if result.errors is not None:
            render_errors(result.errors, console)
        elif not json_:
            console.print(plain(result.message()))
    if json_:
        guard(lambda: print_json([r.to_json() for r in results]))
    if any(r.errors is not None for r in results):
        raise typer.Exit(code=1)


def _print_resolved(spec: Path, overrides: list[str], data: Path | None, json_: bool) -> None:
    from mnistctl.commands.validate import resolve_spec
    from mnistctl.ui.console import plain, print_json, stderr_console, stdout

    def run() -> None:
        resolved = resolve_spec(spec, overrides, data=data)
        if json_:
            print_json(resolved.to_json())
        else:
            stdout().write(resolved.to_yaml())
        stderr_console().print(plain(resolved.result.message()))

    guard(run, json_=json_)


@app.command()
def summary(
    spec: Annotated[Path, typer.Argument(help="The spec file.")],
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Per-layer output shapes and parameter counts, like Keras's model.summary()."""
    from mnistctl.commands.summary import summarize
    from mnistctl.spec import load_spec
    from mnistctl.ui.console import print_json, stdout_console
    from mnistctl.ui.tables import render_summary

    def run() -> None:
        summary = summarize(load_spec(spec, set_ or []))
        if json_:
            print_json(summary.to_json())
        else:
            render_summary(summary.name, summary.info, stdout_console(), summary.plan)

    guard(run, json_=json_)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a spec."""
    from mnistctl.spec.schema import schema_text
    from mnistctl.ui.console import stdout

    guard(lambda: stdout().write(schema_text()))


@app.command(cls=SeedsCommand)
def train(
    spec: Annotated[Path | None, typer.Argument(help="The spec file.")] = None,
    set_: SetOpt = None,
    data: DataOpt = None,
    runs_dir: RunsDirOpt = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Continue an interrupted or killed run (a run of a group from --seeds: "
            "finish the whole group).",
            metavar="RUN",
        ),
    ] = None,
    seeds: SeedsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Build, compile and fit a model; writes a run directory and shows live progress."""
    if (spec is None) == (resume is None):
        raise usage_error("give a SPEC to train, or --resume RUN to continue a run (not both)")
    if resume is not None and set_:
        raise usage_error("--set cannot change a run being resumed")
    if resume is not None and seeds is not None:
        raise usage_error("--seeds cannot change a run being resumed (--resume on a run of a "
                          "group finishes the whole group)")  # fmt: skip
    if seeds is not None:
        from mnistctl.cli.run_commands import train_group_command

        raise typer.Exit(train_group_command(spec, set_ or [], seeds, data, runs_dir, json_))

    def run() -> int:
        with heavy_imports():
            from mnistctl.commands.train import resume_run, train_spec
        from mnistctl.ui.console import print_json, stderr_console, stdout_console
        from mnistctl.ui.progress import make_reporter
        from mnistctl.ui.results import render_train, render_train_notes

        err = stderr_console()
        reporter = make_reporter(err, plain=json_)
        if resume is not None:
            from mnistctl.cli.run_commands import resume_group_command

            group = resume_group_command(resume, runs_dir, data, json_, reporter)
            if group is not None:
                return group
            result = resume_run(resume, runs_dir=runs_dir, data=data, reporter=reporter)
        else:
            assert spec is not None
            result = train_spec(
                spec, set_ or [], data=data, runs_dir=runs_dir or Path("runs"), reporter=reporter
            )
        render_train_notes(result, err)
        if json_:
            print_json(result.to_json())
        else:
            render_train(result, stdout_console())
        return result.exit_code

    raise typer.Exit(code=guard(run, json_=json_, tensorflow=True))
