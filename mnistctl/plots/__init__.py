"""PNG plots for a run: learning curves, confusion matrix, misclassified digits, model graph,
and inside the network the first convolution's filters, feature maps and a PCA projection; and
the learning curves of several runs overlaid (``compare``). One drawing convention for all:
``style.py``.

Every ``plot_*`` function takes plain data (lists, dicts, NumPy arrays; never Keras objects)
and returns the path of the PNG it wrote; its ``build_*_figure`` twin returns the
``matplotlib.figure.Figure`` without saving it (what the tests look at). Figures are built on
an Agg canvas: no pyplot, no GUI backend, no global figure registry.

Each picture's module imports matplotlib at the top (nothing on the light path: ``--help``,
``validate``, ``summary``, the terminal renderers, may import one at module level); this
package's names load their module when first used, so that ``preview.py`` (Pillow only, for
``mnistctl data``) does not pull matplotlib in.

Every PNG is written atomically: rendered into a temporary file in the target directory, then
``os.replace``-d into place, so a failure never leaves a half-written plot behind.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mnistctl.plots.compare import build_compare_figure, plot_compare
    from mnistctl.plots.confusion import build_confusion_matrix_figure, plot_confusion_matrix
    from mnistctl.plots.curves import build_learning_curves_figure, plot_learning_curves
    from mnistctl.plots.digits import build_misclassified_figure, plot_misclassified
    from mnistctl.plots.embedding import build_embedding_figure, plot_embedding
    from mnistctl.plots.featuremaps import build_feature_maps_figure, plot_feature_maps
    from mnistctl.plots.filters import build_filters_figure, plot_filters
    from mnistctl.plots.graph_draw import build_model_graph_figure, plot_model_graph

__all__ = [
    "build_compare_figure",
    "build_confusion_matrix_figure",
    "build_embedding_figure",
    "build_feature_maps_figure",
    "build_filters_figure",
    "build_learning_curves_figure",
    "build_misclassified_figure",
    "build_model_graph_figure",
    "plot_compare",
    "plot_confusion_matrix",
    "plot_embedding",
    "plot_feature_maps",
    "plot_filters",
    "plot_learning_curves",
    "plot_misclassified",
    "plot_model_graph",
]

_MODULES = {
    "build_compare_figure": "compare",
    "plot_compare": "compare",
    "build_confusion_matrix_figure": "confusion",
    "plot_confusion_matrix": "confusion",
    "build_learning_curves_figure": "curves",
    "plot_learning_curves": "curves",
    "build_misclassified_figure": "digits",
    "plot_misclassified": "digits",
    "build_embedding_figure": "embedding",
    "plot_embedding": "embedding",
    "build_feature_maps_figure": "featuremaps",
    "plot_feature_maps": "featuremaps",
    "build_filters_figure": "filters",
    "plot_filters": "filters",
    "build_model_graph_figure": "graph_draw",
    "plot_model_graph": "graph_draw",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
