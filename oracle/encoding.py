"""Small value encodings every layer shares: 32-byte hashes given as bytes or hex, and how deep JSON text nests."""

from __future__ import annotations

import re
from itertools import accumulate

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects any JSON this oracle reads may have (its documents nest under 10).
Checked before parsing: Python's parser recurses once per level, and with the recursion limit some libraries raise
(py_ecc sets 100,000) a deep enough document overflows the C stack and kills the process instead of raising."""
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(text: bytes) -> int:
    """How deep the arrays and objects of JSON text nest (brackets inside strings do not count); linear time."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", text))
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0)


def bytes32(value: bytes | str, what: str) -> bytes:
    """Return a 32-byte value given as bytes or (0x-)hex, or raise ValueError naming `what` and the value."""
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not hex") from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {value!r}")
    return bytes(value)
