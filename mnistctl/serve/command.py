"""``mnistctl serve RUN``: the port bound, the run opened and checked, its model compiled and
warmed up; then ``Serving.serve()`` serves the page and API until Ctrl-C (``serve/``)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnistctl import jsondata
from mnistctl.errors import UserError
from mnistctl.serve.server import Bound, bind

if TYPE_CHECKING:
    from mnistctl.serve.model import ServedModel

NEEDS = ("fastapi", "uvicorn", "python_multipart")  # the `serve` extra (forms: python-multipart)


@dataclass(frozen=True)
class Serving:
    """A listening socket and the model it will serve: what the command line announces."""

    bound: Bound
    model: ServedModel

    @property
    def url(self) -> str:
        return self.bound.url

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = jsondata.plain(
            {
                "url": self.url,
                "host": self.bound.host,
                "port": self.bound.port,
                "loopback": self.bound.loopback,
                **self.model.info.to_json(),
            }
        )
        return doc

    def serve(self) -> None:
        """Serve until Ctrl-C (KeyboardInterrupt) or SIGTERM (``server.Terminated``), each
        raised after the requests in progress are answered; closes the socket."""
        from mnistctl.serve.app import create_app
        from mnistctl.serve.server import run

        run(create_app(self.model), self.bound)


def open_serving(
    run_arg: Path,
    *,
    runs_dir: Path | None,
    checkpoint: str | None,
    host: str,
    port: int,
) -> Serving:
    """Bind ``host``:``port`` first (a busy port is reported before TensorFlow starts), then
    open and check the run and load its model (``checkpoint``: best, last or None)."""
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(
            "mnistctl serve needs FastAPI, uvicorn and python-multipart",
            expected="the packages fastapi, uvicorn and python-multipart",
            received=f"{' and '.join(missing)} not installed",
            hint="pip install 'mnistctl[serve]'",
        )
    bound = bind(host, port)
    try:
        from mnistctl.commands.common import open_run
        from mnistctl.serve.model import load_served

        model = load_served(open_run(run_arg, runs_dir, checkpoint))
    except BaseException:
        bound.sock.close()
        raise
    return Serving(bound, model)
