"""An HTML form's upload (``multipart/form-data``) to ``/api/predict``: its one file.

The form's body is received as any body is (``limits.receive_body``: its bytes limit, the
413s, nothing past the limit kept), then parsed in memory with python-multipart (FastAPI's
form parser). The picture is the form's one file field, whatever its name (``file``,
``image``, ...); other fields are ignored. No file, several files, or a body that is not a
valid form is a 400 with one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnistctl.errors import Location, UserError
from mnistctl.serve.limits import SOURCE, RequestError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FORM = "multipart/form-data"
MAX_PARTS = 64
"""Most fields a form may have (a picture's form has one or two)."""

_EXPECTED = "a form with one file field, e.g. <input type=file name=file>"


def is_form(content_type: str | None) -> bool:
    """Whether the body is declared as an HTML form's upload."""
    return (content_type or "").split(";", 1)[0].strip().lower() == FORM


def _refuse(message: str, received: str, hint: str | None = None) -> RequestError:
    return RequestError(
        400,
        UserError(message, Location(file=SOURCE), expected=_EXPECTED, received=received, hint=hint),
    )


def form_file(content_type: str, body: bytes) -> bytes:
    """The bytes of the one file in the form ``body`` (declared ``content_type``, with its
    boundary), or a 400 RequestError."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _refuse(
            "the form has no boundary",
            f"Content-Type: {content_type[:80]}",
            hint="let the browser or curl -F set the Content-Type of a form",
        )
    parts = _Parts()
    try:
        parser = MultipartParser(boundary, parts.callbacks())
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise _refuse("the form is damaged", f"{type(exc).__name__}: {exc}"[:200]) from None
    return parts.the_file()


class _Parts:
    """What the parser reports: how many fields and files, and the first file's bytes."""

    def __init__(self) -> None:
        self.fields = 0
        self.files: list[str] = []
        self.data: list[bytes] = []
        self.ended = False
        self._header = b""
        self._value = b""
        self._disposition = b""
        self._keep = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self.fields += 1
        if self.fields > MAX_PARTS:
            raise _refuse("the form has too many fields", f"more than {MAX_PARTS} fields")
        self._disposition = b""
        self._keep = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.strip().lower() == b"content-disposition":
            self._disposition = self._value
        self._header = self._value = b""

    def _headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._disposition)
        if b"filename" in options:  # a file field (a text field has no filename)
            name = options.get(b"name", b"").decode("latin-1")
            self.files.append(name)
            self._keep = len(self.files) == 1

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._keep:
            self.data.append(data[start:end])

    def _end(self) -> None:
        self.ended = True

    def the_file(self) -> bytes:
        if not self.ended:
            raise _refuse("the form is cut short", "no closing boundary")
        if not self.files:
            raise _refuse(
                "the form has no file",
                f"{self.fields} text field{'s' if self.fields != 1 else ''} and no file",
                hint="choose the picture in the form's file field",
            )
        if len(self.files) > 1:
            names = ", ".join(repr(name[:40]) for name in self.files[:5])
            raise _refuse(
                "the form has several files",
                f"{len(self.files)} files ({names})",
                hint="send one picture per request",
            )
        return b"".join(self.data)
