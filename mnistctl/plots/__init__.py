"""PNG plots for a run: learning curves, confusion matrix, misclassified digits, model graph;
and the learning curves of several runs overlaid (``compare``).

Every ``plot_*`` function takes plain data (lists, dicts, NumPy arrays; never Keras objects)
and returns the path of the PNG it wrote; its ``build_*_figure`` twin returns the
``matplotlib.figure.Figure`` without saving it (what the tests look at). Figures are built on
an Agg canvas: no pyplot, no GUI backend, no global figure registry.

This package imports matplotlib at the top: nothing on the light path (``--help``,
``validate``, ``summary``, the terminal renderers) may import it at module level.

Every PNG is written atomically: rendered into a temporary file in the target directory, then
``os.replace``-d into place, so a failure never leaves a half-written plot behind.
"""

from mnistctl.plots.compare import build_compare_figure, plot_compare
from mnistctl.plots.confusion import build_confusion_matrix_figure, plot_confusion_matrix
from mnistctl.plots.curves import build_learning_curves_figure, plot_learning_curves
from mnistctl.plots.digits import build_misclassified_figure, plot_misclassified
from mnistctl.plots.graph_draw import build_model_graph_figure, plot_model_graph

__all__ = [
    "build_compare_figure",
    "build_confusion_matrix_figure",
    "build_learning_curves_figure",
    "build_misclassified_figure",
    "build_model_graph_figure",
    "plot_compare",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_misclassified",
    "plot_model_graph",
]
