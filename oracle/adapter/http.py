"""Reading untrusted request bodies: a size limit enforced while reading, and strict JSON."""

from __future__ import annotations

import json

from aiohttp import web

from oracle.wire.fields import BadRequestError


class PayloadTooLargeError(ValueError):
    """A request body is over the endpoint's size limit."""


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

    try:
        return json.loads(body.decode("utf-8"), parse_constant=refuse)
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"request body is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise BadRequestError(f"request body is not valid JSON: {exc.msg} at {where}") from None
