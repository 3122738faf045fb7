"""Canonical JSON bytes (RFC 8785 / JCS compatible, integers only) and the keccak256 hash over them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring  # what json.dumps(text, ensure_ascii=False) calls, minus its set-up
from typing import Any

from eth_utils import keccak

from oracle.encoding import MAX_JSON_DEPTH, json_depth

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer every JCS implementation (IEEE-754 doubles) encodes exactly; bigger ones go as strings."""


class CanonicalJSONError(ValueError):
    """A value cannot be put into canonical JSON; the message names where and why."""


def _key_order(key: str) -> bytes:
    # RFC 8785 sorts member names by their UTF-16 code units.
    return key.encode("utf-16-be", "surrogatepass")


def _check_string(value: str, where: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalJSONError(f"{where}: string {value!r} holds a lone surrogate, not valid Unicode") from None
    return value


def _encode(value: Any, where: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJSONError(
                f"{where}: integer {value} is beyond 2**53-1; encode amounts like it as a decimal string"
            )
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise CanonicalJSONError(
            f"{where}: float {value!r} is not allowed; use integer basis points, base units or a decimal string"
        )
    elif isinstance(value, str):
        # encode_basestring (json.dumps with ensure_ascii=False) escapes exactly what JCS escapes: ", \ and
        # U+0000..U+001F (short forms for \b \f \n \r \t, \u00xx lower-case otherwise), the rest left as UTF-8.
        out.append(encode_basestring(_check_string(value, where)))
    elif isinstance(value, Mapping):
        items = []
        for key in value:
            if not isinstance(key, str):
                raise CanonicalJSONError(f"{where}: object key {key!r} is not a string")
            _check_string(key, where)
            items.append(key)
        items.sort(key=_key_order)
        out.append("{")
        for i, key in enumerate(items):
            if i:
                out.append(",")
            out.append(encode_basestring(key))
            out.append(":")
            _encode(value[key], f"{where}.{key}", out)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, f"{where}[{i}]", out)
        out.append("]")
    else:
        raise CanonicalJSONError(
            f"{where}: {type(value).__name__} {value!r} has no JSON form; convert it (bytes to 0x-hex, etc.)"
        )


def canonical_json(doc: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of a document: sorted keys, no whitespace, integers only."""
    out: list[str] = []
    _encode(doc, "$", out)
    return "".join(out).encode("utf-8")


def parse_canonical(data: bytes) -> Any:
    """Parse JSON bytes and insist they are already canonical, so a hash over them means one document."""
    if json_depth(data) > MAX_JSON_DEPTH:
        raise CanonicalJSONError(f"document nests arrays or objects more than {MAX_JSON_DEPTH} deep")
    try:
        doc = json.loads(data.decode("utf-8"), parse_float=_reject_float, parse_constant=_reject_float)
    except UnicodeDecodeError as exc:
        raise CanonicalJSONError(f"document is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(f"document is not JSON: {exc}") from None
    except RecursionError:
        raise CanonicalJSONError("document nests arrays or objects too deeply to read") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise CanonicalJSONError(f"document is not JSON this oracle reads: {exc}") from None
    try:
        again = canonical_json(doc)
    except RecursionError:
        raise CanonicalJSONError("document nests arrays or objects too deeply to read") from None
    if again != data:
        raise CanonicalJSONError(
            f"document is JSON but not canonical ({len(data)} bytes; canonical form is {len(again)} bytes)"
        )
    return doc


def _reject_float(text: str) -> Any:
    raise CanonicalJSONError(f"number {text} is not an integer; canonical documents hold integers only")


def keccak_canonical(doc: Any) -> bytes:
    """Return keccak256 of a document's canonical bytes."""
    return keccak(canonical_json(doc))


def explanation_hash(doc: Any) -> bytes:
    """Return the on-chain explanationHash: keccak256 of the explanation's canonical bytes."""
    return keccak_canonical(doc)


def decimal_string(value: int) -> str:
    """Return an integer amount as a base-10 string, the form amounts in base units take in documents."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise CanonicalJSONError(f"amount must be an integer, got {type(value).__name__} {value!r}")
    return str(value)


def hex0x(data: bytes) -> str:
    """Return bytes as 0x-prefixed lower-case hex, the form hashes take in documents."""
    return "0x" + bytes(data).hex()
