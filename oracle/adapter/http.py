"""Reading untrusted request bodies: a size limit enforced while reading, and strict JSON."""

from __future__ import annotations

import json

from aiohttp import web

from oracle.encoding import MAX_JSON_DEPTH, json_depth
from oracle.wire.fields import BadRequestError


class PayloadTooLargeError(ValueError):
    """A request body is over the endpoint's size limit."""


class ForbiddenRequestError(PermissionError):
    """The request comes from where it may not (another origin, a host name not the gateway's) or asks for what
    the endpoint never does for anyone (a method or account the dev wallet does not lend)."""


class UnsupportedMediaTypeError(ValueError):
    """The request body is not of the media type the endpoint requires."""


def require_json_content_type(request: web.Request) -> None:
    """Refuse a body not declared as application/json: such requests need a CORS preflight from a browser, so a
    foreign page cannot send them as a "simple" form or text/plain request."""
    if request.content_type != "application/json":
        shown = request.headers.get("Content-Type") or "none"
        raise UnsupportedMediaTypeError(f"send the body as Content-Type: application/json (got {shown})")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """Read the whole body, refusing it as soon as it is longer than limit bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLargeError(f"request body of {request.content_length} bytes is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(body: bytes) -> object:
    """Decode a JSON request body, refusing NaN/Infinity and naming where the syntax broke."""

    def refuse(token: str) -> None:
        raise BadRequestError(f"request body holds {token}, which is not JSON")

    if json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequestError(
            f"request body nests arrays or objects more than {MAX_JSON_DEPTH} deep; requests here nest a few levels"
        )
    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse)
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"request body is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise BadRequestError(f"request body is not valid JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise BadRequestError(
            "request body nests arrays or objects too deeply to read; requests here nest a few levels at most"
        ) from None
    except BadRequestError:
        raise
    except ValueError:  # an integer literal longer than Python converts (4,300 digits)
        raise BadRequestError(
            "request body holds an integer of more than 4,300 digits; integers here have at most 78 digits"
        ) from None
