"""The HTML report (``mnistctl report``): runs' files in, one self-contained page out.

``gather.py`` reads what a run's files say (never a model, never TensorFlow) · ``groups.py``
(groups of seeds: spread and band) · ``charts.py`` and ``svg.py`` (learning curves as inline
SVG, drawn by ``plots/style.py``'s convention, handed in) · ``pictures.py`` (pictures as PNG
``data:`` URIs) · ``page.py`` (Jinja2, autoescaped: ``templates/``) · ``templates/`` (the page,
its stylesheet and its one small script).

The package is ``reportpage``, not ``report``: ``mnistctl.report`` is the API's function
(``api/reports.py``), and a package of that name would take its place once imported.
"""
