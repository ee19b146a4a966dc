"""The Python API, for notebooks and scripts: the CLI's commands as functions and objects.

    import mnistctl

    spec = mnistctl.load_spec("specs/cnn.yaml", overrides=["train.epochs=2"])
    spec.summary()                      # the CLI's summary table (shows itself in Jupyter)
    model = spec.build()                # a keras.Model, not compiled
    run = mnistctl.train(spec)          # a Run; progress on stderr, as the CLI shows it
    run.history["val_accuracy"]         # per epoch, from the run's history.csv
    result = run.evaluate()             # .loss, .accuracy, .confusion_matrix, .per_class
    probs = run.predict(["seven.png"])  # (N, 10) probabilities; probs.labels: the digits
    run.plot()                          # the run's pictures, as PNG paths
    run.export("onnx")                  # checked in onnxruntime; .check.max_abs_diff, .artifact
    mnistctl.open_run("specs/cnn.yaml") # a spec's latest run (or give a run directory)
    run.explain(test=4)                 # where it looked: .entries[i].explanation.maps
    group = mnistctl.train(spec, seeds=[0, 1, 2])  # a RunGroup: .mean(), .sd(), its runs
    mnistctl.report([run, "runs/dnn"]) # one HTML page of runs, to hand in (no TensorFlow)

Every call runs the code the CLI runs (``commands/``): no second implementation. Every
user-facing problem is raised as one exception type, ``mnistctl.Error`` (``UserErrors``): its
``str`` is exactly the line(s) the CLI prints, and ``message``, ``location``, ``expected``,
``received``, ``hint`` and ``errors`` are there to read; an argument of a type its annotation
does not allow is one too, refused before anything runs (``api/arguments.py``). Nothing
prints, except the progress of training (stderr, as in the CLI). ``import mnistctl`` and
``load_spec`` never import TensorFlow or matplotlib; training, evaluating, predicting, plotting
and ``Spec.build`` do.
"""

from mnistctl.api.common import Error, ImageInput
from mnistctl.api.groups import RunGroup
from mnistctl.api.reports import report
from mnistctl.api.runs import Probabilities, Run, open_run, resume, train
from mnistctl.api.specs import ModelSummary, Spec, load_data, load_spec

__all__ = [
    "Error",
    "ImageInput",
    "ModelSummary",
    "Probabilities",
    "Run",
    "RunGroup",
    "Spec",
    "load_data",
    "load_spec",
    "open_run",
    "report",
    "resume",
    "train",
]
