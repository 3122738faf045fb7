"""Field types and errors of the JSON wire formats the gateway and the nodes share (bridge, signature relay)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, ValidationError

UINT256_MAX = 2**256 - 1
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: later epoch seconds have no calendar date
INT256_MAX = 2**255 - 1
MAX_URI_LENGTH = 2048
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class BadRequestError(ValueError):
    """The request is malformed or fails the schema; the message names each bad field and value."""


def _integer(value: object) -> int:
    """Integers arrive as JSON numbers or decimal strings (CBOR and Go may send either); nothing else passes."""
    if isinstance(value, (bool, float)):
        raise ValueError(f"must be an integer (a JSON integer or a decimal string), got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,78}", value):
        return int(value)
    raise ValueError(f"must be an integer (a JSON integer or a decimal string), got {value!r}")


def _bytes32(value: object) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise ValueError(f"must be 0x followed by 64 hex digits (32 bytes), got {value!r}")
    return bytes.fromhex(value[2:])


def _address(value: object) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(f"must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value


Uint = Annotated[int, BeforeValidator(_integer), Field(ge=0, le=UINT256_MAX)]
Time = Annotated[int, BeforeValidator(_integer), Field(ge=0, le=MAX_TIME)]
Int256 = Annotated[int, BeforeValidator(_integer), Field(ge=-INT256_MAX - 1, le=INT256_MAX)]
Bytes32 = Annotated[bytes, BeforeValidator(_bytes32)]
Address = Annotated[str, BeforeValidator(_address)]


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's errors into one line: the missing fields, then each bad field with the value it got."""
    missing, parts = [], []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        if err["type"] == "missing":
            missing.append(where)
            continue
        message = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict) else "an object"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        parts.append(f"{where}: {message}" if "got " in message else f"{where}: {message} (got {shown})")
    if missing:
        parts.insert(0, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    return "; ".join(parts)
