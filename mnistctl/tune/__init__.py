"""``mnistctl tune``: hyperparameter search over a spec's ``search:`` section, on Optuna.

An adapter over the commands (``train``), as ``cli/`` is: ``command`` (the whole ``tune``
command: checks, storage, trials here or in workers, the study's files; a ``TuneResult``) ·
``names`` (study names and where a study's files go) · ``storage`` (a storage URL as an Optuna
storage) · ``masking`` (a storage URL without its secrets, for every display and file) ·
``journal`` (the default journal file, its damaged tail cut off before appending) ·
``space`` (a trial's values) · ``objective`` (one trial: a run directory) · ``trials`` (a
study's trials as plain rows; who still runs) · ``study`` (the loop in one process) ·
``workers`` (K worker processes) · ``results`` (best.yaml) · ``plots`` (PNGs).
"""
