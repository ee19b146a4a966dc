"""A study that a crash left behind goes on (issue 23, items 4 and 5).

- A journal whose last line was cut short (a crash, a full disk): the tail is cut off, with a
  one-line notice, before anything is appended, under Optuna's journal lock, so the next
  record never lands on the cut line; a journal damaged in its middle is one line, never a
  traceback. Journals crafted with Optuna's own journal storage in ``tmp_path``.
- A RUNNING trial without an owner (its process killed between Optuna creating it and
  mnistctl recording who runs it): failed as "worker died" after the grace period and retried,
  so that the study reaches its total; a younger one is left alone.

No training, no process: trials are added to the storage as Optuna adds any trial.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState, create_trial

from mnistctl.errors import UserError
from mnistctl.tune import trials as trial_rows
from mnistctl.tune.storage import open_storage

STUDY = "s-tune"
UNITS = IntDistribution(8, 32, step=8)
PARTIAL = b'{"op_code":4,"worker_id":"0f3a-1","study_id":0,"datetime_st'


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def plain_storage(journal: Path) -> JournalStorage:
    """The journal as any other process reads it: Optuna's own backend, nothing of ours."""
    return JournalStorage(JournalFileBackend(str(journal)))


def done(units: int) -> Any:
    return create_trial(params={"units": units}, distributions={"units": UNITS}, value=0.5)


def crafted(tmp_path: Path, trials: int = 2) -> Path:
    """A study of ``trials`` finished trials in a journal written by Optuna alone."""
    journal = tmp_path / STUDY / "study.journal"
    journal.parent.mkdir()
    study = optuna.create_study(storage=plain_storage(journal), study_name=STUDY)
    for n in range(trials):
        study.add_trial(done(8 * (n + 1)))
    return journal


def numbers(journal: Path) -> list[int]:
    study = optuna.load_study(study_name=STUDY, storage=plain_storage(journal))
    return [t.number for t in study.get_trials()]


# --- a journal cut short -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        PARTIAL,  # cut mid-record
        b"{",  # one byte
        PARTIAL + b'{"op_code":8,"worker_id":"x","trial_id":0,"user_attr":{}}\n',  # what an
        # older mnistctl appended onto a cut line: a line Optuna skips, about to become the middle
    ],
)
def test_a_cut_last_line_is_cut_off_before_anything_is_appended(tmp_path: Path, tail: bytes):
    journal = crafted(tmp_path)
    whole = journal.read_bytes()
    journal.write_bytes(whole + tail)
    opened = open_storage(None, journal, workers=1)
    assert journal.read_bytes() == whole  # exactly the records Optuna read, nothing more
    study = optuna.load_study(study_name=STUDY, storage=opened.storage)
    study.add_trial(done(24))
    assert numbers(journal) == [0, 1, 2]  # the new record is readable by any process
    notices = opened.take_notices()
    assert len(notices) == 1 and "cut off its last line" in notices[0], notices
    assert str(journal) in notices[0] and "\n" not in notices[0]
    assert opened.take_notices() == []


def test_a_line_cut_short_while_the_study_runs_is_cut_off_before_the_next_append(tmp_path):
    journal = crafted(tmp_path)
    opened = open_storage(None, journal, workers=1)
    study = optuna.load_study(study_name=STUDY, storage=opened.storage)
    with open(journal, "ab") as f:  # another process died mid-write (a full disk)
        f.write(PARTIAL)
    study.add_trial(done(24))
    assert [t.number for t in study.get_trials()] == [0, 1, 2]
    assert numbers(journal) == [0, 1, 2]
    assert len(opened.take_notices()) == 1


def test_a_whole_journal_is_left_as_it_is(tmp_path: Path) -> None:
    journal = crafted(tmp_path)
    before = journal.read_bytes()
    opened = open_storage(None, journal, workers=1)
    assert opened.take_notices() == [] and journal.read_bytes() == before
    new = open_storage(None, tmp_path / "new" / "study.journal", workers=1)
    assert new.take_notices() == [] and (tmp_path / "new" / "study.journal").read_bytes() == b""


def test_the_tail_is_cut_only_under_the_journal_lock(tmp_path: Path) -> None:
    """A writer holding Optuna's lock is mid-append: its half-written record is not cut off;
    the repair waits for the lock, and then finds the record whole."""
    journal = crafted(tmp_path)
    record = b'{"op_code":2,"worker_id":"w","study_id":0,"user_attr":{"k":"v"}}\n'
    lock = JournalFileSymlinkLock(str(journal))
    assert lock.acquire()
    with open(journal, "ab") as f:
        f.write(record[:20])
    opened: list[Any] = []
    opener = threading.Thread(target=lambda: opened.append(open_storage(None, journal, workers=1)))
    opener.start()
    try:
        time.sleep(0.5)
        assert not opened  # waiting for the lock
        with open(journal, "ab") as f:  # the writer finishes its record and lets go
            f.write(record[20:])
    finally:
        lock.release()
    opener.join(timeout=30)
    assert opened and opened[0].take_notices() == [] and journal.read_bytes().endswith(record)
    assert optuna.load_study(study_name=STUDY, storage=plain_storage(journal)).user_attrs == {
        "k": "v"
    }


def test_a_journal_damaged_in_its_middle_is_one_line(tmp_path: Path) -> None:
    journal = crafted(tmp_path)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([lines[0], PARTIAL + lines[1], *lines[2:]]))
    with pytest.raises(UserError) as caught:
        open_storage(None, journal, workers=1)
    line = caught.value.one_line()
    assert "damaged before its last line" in line and "move the file away" in line
    assert str(journal) in line and "\n" not in line


def test_damage_that_appears_while_the_study_runs_is_one_line(tmp_path: Path) -> None:
    journal = crafted(tmp_path)
    opened = open_storage(None, journal, workers=1)
    study = optuna.load_study(study_name=STUDY, storage=opened.storage)
    with open(journal, "ab") as f:  # written by hand, or by an older mnistctl, meanwhile
        f.write(PARTIAL + b"\n" + b'{"op_code":10}\n')
    with pytest.raises(UserError, match="damaged before its last line"):
        study.get_trials()


# --- a trial without an owner --------------------------------------------------------------------


def ownerless(study: Any, started: datetime, params: dict[str, int] | None = None) -> int:
    """A RUNNING trial as a process killed right after Optuna created it leaves it."""
    params = params if params is not None else {}
    trial = create_trial(
        state=TrialState.RUNNING,
        params=params,
        distributions={k: UNITS for k in params},
    )
    trial.datetime_start = started
    study.add_trial(trial)
    return int(study.get_trials()[-1].number)


def a_study(tmp_path: Path) -> Any:
    opened = open_storage(None, tmp_path / STUDY / "study.journal", workers=1)
    return optuna.create_study(storage=opened.storage, study_name=STUDY)


def test_an_ownerless_trial_past_the_grace_period_is_failed_and_retried(tmp_path: Path) -> None:
    study = a_study(tmp_path)
    study.add_trial(done(8))
    started = datetime.now() - timedelta(seconds=61)  # the grace period is 60 s at most
    number = ownerless(study, started, {"units": 16})
    assert trial_rows.counted(study.get_trials()) == 2  # before: it counted, and stayed
    assert trial_rows.fail_dead(study) == [number]
    died, retry = study.get_trials()[number:]
    assert died.state == TrialState.FAIL and died.user_attrs["fail_reason"] == "worker died"
    assert retry.state == TrialState.WAITING and retry.user_attrs["retry_of"] == number
    assert retry.system_attrs["fixed_params"] == {"units": 16}
    trials = study.get_trials()
    assert trial_rows.waiting(trials) == 1 and trial_rows.counted(trials) == 2  # the retry's
    row = trial_rows.rows(trials, _Section())[number]
    assert row.reason == "worker died" and row.retried
    assert trial_rows.fail_dead(study) == []  # once


def test_a_young_ownerless_trial_is_left_alone_until_the_grace_period_ends(tmp_path: Path):
    study = a_study(tmp_path)
    number = ownerless(study, datetime.now())
    assert 0 < trial_rows.OWNERLESS_GRACE_S <= 60
    assert trial_rows.fail_dead(study) == []  # its process may be about to say who it is
    start = study.get_trials()[number].datetime_start
    almost = start + timedelta(seconds=trial_rows.OWNERLESS_GRACE_S - 1)
    assert trial_rows.fail_dead(study, now=almost) == []
    later = start + timedelta(seconds=trial_rows.OWNERLESS_GRACE_S + 1)
    assert trial_rows.fail_dead(study, now=later) == [number]
    assert study.get_trials()[number].state == TrialState.FAIL


def test_a_popped_retry_that_died_before_proposing_is_retried_with_its_values(tmp_path: Path):
    study = a_study(tmp_path)
    study.enqueue_trial({"units": 24}, user_attrs={"retry_of": 0})
    popped = study.ask()  # RUNNING, its values fixed but not proposed yet; then the process died
    assert popped.params == {}
    later = datetime.now() + timedelta(seconds=trial_rows.OWNERLESS_GRACE_S + 1)
    assert trial_rows.fail_dead(study, now=later) == [popped.number]
    retry = study.get_trials()[-1]
    assert retry.state == TrialState.WAITING and retry.system_attrs["fixed_params"] == {"units": 24}


class _Section:
    """What ``trials.rows`` needs of a search section: a space to decode the values with."""

    space = (("units", None),)
