"""The Python API on the learner's path (issue 21): the data a call reads is the data ``train``
reads, and errors say what to do in Python, not on the command line.

- ``load_data(spec)``: the spec's own data, overrides applied (``load_data(PATH)`` ignored them);
- ``Spec.summary()``: its training plan counts the data ``train`` would use (``MNISTCTL_DATA``
  or ``data=``), not the spec's data set by name (a 5,000-digit local copy was planned as
  MNIST's 54,000);
- hints: ``--set K=V`` -> ``overrides=["K=V"]``, ``--checkpoint last`` -> ``checkpoint="last"``,
  ``mnistctl train --resume RUN`` -> ``mnistctl.resume(RUN)``, one rewording for every call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT, make_npz

import mnistctl
from mnistctl.api.common import api_words
from mnistctl.data.keras_cache import LOCAL_DATA_HINT, SAMPLE_HINT

CNN = ROOT / "specs" / "cnn.yaml"
SAMPLE = ["data.dataset=mnist_sample"]


@pytest.fixture
def no_env_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNISTCTL_DATA", raising=False)


def test_load_data_of_a_spec_is_its_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNISTCTL_DATA", raising=False)
    spec = mnistctl.load_spec(CNN, overrides=SAMPLE)  # data: mnist, as the notebook overrides it
    (x_train, y_train), (x_test, y_test) = mnistctl.load_data(spec)
    shapes = (x_train.shape, y_train.shape, x_test.shape, y_test.shape)
    assert shapes == ((5000, 28, 28), (5000,), (10_000, 28, 28), (10_000,))
    (named_x, _), (_, named_y) = mnistctl.load_data(dataset="mnist_sample")
    assert (named_x == x_train).all() and (named_y == y_test).all()
    # a local copy (MNISTCTL_DATA) wins over the spec's data set, as in train
    monkeypatch.setenv("MNISTCTL_DATA", str(make_npz(tmp_path / "small.npz", 300, 50)))
    (x_train, _), (x_test, _) = mnistctl.load_data(spec)
    assert (len(x_train), len(x_test)) == (300, 50)


def test_load_data_takes_a_spec_or_a_name_not_both(no_env_data: None) -> None:
    spec = mnistctl.load_spec(CNN, overrides=SAMPLE)
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.load_data(spec, dataset="mnist")
    assert str(info.value) == (
        "dataset: a spec names its own data set; expected a spec, or a data set's name, not "
        "both; received 'mnist' (hint: load_spec(..., overrides=[\"data.dataset=mnist\"]), "
        "then load_data(spec))"
    )


def test_summary_counts_the_data_train_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNISTCTL_DATA", raising=False)
    spec = mnistctl.load_spec(CNN)  # data: mnist (60,000 digits, 10 % for validation)
    plan = spec.summary().plan
    assert plan is not None and plan.images == 54_000
    local = make_npz(tmp_path / "small.npz", 5000, 100)
    given = spec.summary(data=local).plan
    assert given is not None and (given.images, given.steps_per_epoch) == (4500, 36)
    monkeypatch.setenv("MNISTCTL_DATA", str(local))
    from_env = spec.summary().plan
    assert from_env is not None and from_env.images == 4500
    assert "(4,500 images, batch 128)" in str(spec.summary())
    sample = mnistctl.load_spec(CNN, overrides=SAMPLE).summary(data=local).plan
    assert sample is not None and sample.images == 4500


WORDS = [
    (SAMPLE_HINT, "--set data.dataset=mnist_sample", 'overrides=["data.dataset=mnist_sample"]'),
    (LOCAL_DATA_HINT, "with --data PATH (a .npz", "with data=PATH (a .npz"),
    (
        "set the optimizer as a whole: --set 'compile.optimizer={type: adam, lr: 1}'",
        "--set 'compile.optimizer={type: adam, lr: 1}'",
        'overrides=["compile.optimizer={type: adam, lr: 1}"]',
    ),
    ("use --checkpoint last, or restore the file", "--checkpoint last", 'checkpoint="last"'),
    (
        "train it (or resume it with 'mnistctl train --resume RUN')",
        "'mnistctl train --resume RUN'",
        "mnistctl.resume(RUN)",
    ),
    ("train it first: mnistctl train specs/cnn.yaml", "mnistctl train specs/cnn.yaml",
     'mnistctl.train("specs/cnn.yaml")'),
    ("a folder (or --data FOLDER)", "--data FOLDER", "data=FOLDER"),
    ("choose another --output", "--output", "output"),
    ("--check-samples must be at least 1", "--check-samples", "check_samples"),
    ("try another --format", "--format", "format"),
    # not instructions: a --set path, what --set takes, options the API does not have
    ("expected a string KEY=VALUE, as --set takes (train.epochs=2)", "", ""),
    ("give a --set path, e.g. model.layers.hidden.units", "", ""),
    ("give the study a new name: --study NEW", "", ""),
    ("e.g. curl --data-binary @digit.png", "", ""),
]  # fmt: skip
"""(the CLI's words, the part reworded, what the API says there)"""


@pytest.mark.parametrize(("cli", "part", "api"), WORDS)
def test_cli_words_said_for_the_api(cli: str, part: str, api: str) -> None:
    assert part in cli
    assert api_words(cli) == cli.replace(part, api)
    assert api_words(api_words(cli)) == api_words(cli)  # said once, whatever the depth


def test_load_data_says_its_own_argument() -> None:
    assert api_words(SAMPLE_HINT, "mnistctl.load_data").endswith('sample: dataset="mnist_sample"')


def test_errors_of_a_call_are_in_api_words(no_env_data: None) -> None:
    with pytest.raises(mnistctl.Error) as info:
        mnistctl.load_spec(CNN, overrides=["compile.optimizer.lr=1"])
    assert (
        info.value.hint
        == 'set the optimizer as a whole: overrides=["compile.optimizer={type: adam, lr: 1}"]'
    )
    # where the problem is and what was given stay as they were
    assert info.value.location.file == "--set compile.optimizer.lr=1"
    assert "--set" not in str(info.value).split("(hint:", 1)[1]
