"""The request class of the app: uploads stay in memory, JSON bodies are strict.

* Werkzeug spools any uploaded file over 500 KB to a temporary file (``/tmp``, on a unit the SD
  card, unencrypted): a probe photo always is. Here every upload goes to a ``BytesIO``;
  ``MAX_CONTENT_LENGTH`` (``workflow.max_upload_mb``) bounds the memory, as it bounded the file.
* JSON: ``Infinity``, ``NaN`` and numbers that overflow a float (``1e400``) are refused, and so is
  nesting deep enough to exhaust the parser's recursion; ``json_object()`` refuses a body that is
  not an object. Each is one 400 with a JSON error, never a 500.
"""

from __future__ import annotations

import io
import json
import math

from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from device.errors import UsageError

MAX_JSON_DEPTH = 32  # our bodies are flat; anything deeper is an attack on the parser
MAX_JSON_BYTES = 64 * 1024  # the API's bodies are a few ids and words


class InMemoryRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()

    def on_json_loading_failed(self, e):
        raise BadRequest(f"the body is not valid JSON: {e}")


def leading_fields(names: tuple[str, ...], limit: int = 64 * 1024) -> dict[str, str]:
    """The plain text fields ``names`` from the start of a multipart body that was refused as too
    large (its file part comes after them in the form), read from at most ``limit`` bytes: so a
    refused upload keeps the case number and purpose that were typed. Anything unclear is left out."""
    boundary = request.mimetype_params.get("boundary", "")
    if request.mimetype != "multipart/form-data" or not boundary:
        return {}
    head = request.input_stream.read(min(limit, request.content_length or 0))  # the raw body: .stream refuses it
    out = {}
    for part in head.split(b"--" + boundary.encode("latin-1"))[1:-1]:
        header, _, body = part.partition(b"\r\n\r\n")
        disposition = header.decode("latin-1", "replace")
        if "filename=" in disposition:
            break  # the file: the fields of interest come before it
        for name in names:
            if f'name="{name}"' in disposition:
                out[name] = body.removesuffix(b"\r\n").decode("utf-8", "replace")[:4000]
    return out


def _constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _depth_ok(text: str) -> bool:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        text = s.decode("utf-8") if isinstance(s, bytes | bytearray) else s
        if len(text) > MAX_JSON_BYTES:
            raise ValueError(f"a JSON body is at most {MAX_JSON_BYTES // 1024} KiB")
        if not _depth_ok(text):
            raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
        return json.loads(text, parse_constant=_constant, parse_float=_finite, **kwargs)


def json_object() -> dict:
    """The request's JSON body, which must be an object (UsageError, a 400, otherwise)."""
    if not request.is_json:
        raise UsageError("send a JSON object (Content-Type: application/json)")
    try:
        data = request.get_json()
    except BadRequest as exc:
        raise UsageError(exc.description or "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise UsageError("the JSON body must be an object")
    return data


MAX_ID = 2**63 - 1  # SQLite's INTEGER: a bigger number must be a 400, not an OverflowError


def whole_number(value, name: str, low: int = 0, high: int = MAX_ID) -> int:
    """``value`` (a JSON number or a string of digits) as an int in ``low..high``, else UsageError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UsageError(f"{name} must be a whole number")
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise UsageError(f"{name} must be between {low} and {high}")
    return number


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in a URL: at most SQLite's largest integer (else 404, as for any unknown id)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install(app) -> None:
    """Before any blueprint is registered (the converter applies to routes added after it)."""
    app.request_class = InMemoryRequest
    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = BoundedIntConverter
