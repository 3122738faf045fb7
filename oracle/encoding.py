"""Small value encodings every layer shares: 32-byte hashes given as bytes or hex."""

from __future__ import annotations


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
