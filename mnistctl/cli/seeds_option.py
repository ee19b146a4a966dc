"""``--seeds 0 1 2``: an option that takes every number after it, up to the next option or
argument that is not a number (Click's options take a fixed number of values; the command's
arguments are rewritten to ``--seeds 0 --seeds 1 --seeds 2`` before Click reads them)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from mnistctl.cli.app import Command

SEEDS = "--seeds"
_NUMBER = re.compile(r"[+-]?[0-9]+")

SeedsOpt = Annotated[
    list[int] | None,
    typer.Option(
        SEEDS,
        metavar="N...",
        help="Train one run per seed (e.g. --seeds 0 1 2), one after another, as a group: "
        "'runs' and 'compare' show its mean ± sd.",
    ),
]


def spread_seeds(args: list[str]) -> list[str]:
    """``[..., "--seeds", "0", "1", "2", ...]`` -> ``[..., "--seeds", "0", "--seeds", "1",
    "--seeds", "2", ...]``; everything after ``--`` is left as it is."""
    out: list[str] = []
    taking = False
    for k, arg in enumerate(args):
        if arg == "--":
            return out + args[k:]
        if taking and _NUMBER.fullmatch(arg):
            out += [SEEDS, arg]
            continue
        taking = arg == SEEDS
        if not taking:
            out.append(arg)
        elif k == len(args) - 1 or not _NUMBER.fullmatch(args[k + 1]):
            out.append(arg)  # no number follows: Click says what the option needs
    return out


class SeedsCommand(Command):
    """A command with a ``--seeds N...`` option."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        parsed: list[str] = super().parse_args(ctx, spread_seeds(list(args)))
        return parsed
