"""``mnistctl serve``: a local web page to draw a digit and watch a run's model read it, and a
small JSON API (FastAPI on uvicorn). An adapter over the commands (a run opened as
``evaluate`` opens it), as ``cli/`` is.

``command.py`` (the ``serve`` command: the port bound, the run opened, its model warmed up) ·
``model.py`` (the served model: one compiled inference function, and what ``/api/info`` says)
· ``workers.py`` (the pictures are prepared in worker processes, each a ``worker.py``; one past
the decoding time limit is killed and replaced) · ``batcher.py`` (requests that arrive
together go through the model in one call) ·
``limits.py`` (what a request may be: type, bytes, pixels, decoding time; each refusal a 4xx) ·
``forms.py`` (an HTML form's upload: its one file) · ``app.py`` (the FastAPI app: routes, every
error answer as JSON) · ``server.py`` (the socket, uvicorn and its HTTP parser's refusals as
JSON, Ctrl-C)
· ``static/`` (the page: plain HTML, CSS and JavaScript, nothing fetched from elsewhere).
Nothing here imports TensorFlow at import time; ``model.py`` does when a model is loaded.
"""
