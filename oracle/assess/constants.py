"""Peril helpers over the domain constants (oracle.domain), numbered exactly as the contracts number them."""

from __future__ import annotations

from oracle.domain import ALL_PERILS, BPS, CLASSES, PERIL_NAMES, SEVERITIES, WEATHER_PERILS, Decision, Peril

__all__ = [
    "ALL_PERILS",
    "BPS",
    "CLASSES",
    "PERIL_NAMES",
    "SEVERITIES",
    "WEATHER_PERILS",
    "Decision",
    "Peril",
    "peril_from_index",
    "peril_index",
    "peril_name",
]


def peril_name(peril: int) -> str:
    """Return the name of a single peril bit, or raise ValueError naming the value."""
    try:
        return PERIL_NAMES[Peril(peril)]
    except (ValueError, KeyError):
        known = ", ".join(PERIL_NAMES.values())
        raise ValueError(f"peril {peril!r} is not a single known peril bit ({known})") from None


def peril_from_index(index: int) -> Peril:
    """Return the peril bit for the contract's peril index (ClaimSubmitted.peril is a bit index, 0..5 here)."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(PERIL_NAMES):
        known = ", ".join(PERIL_NAMES.values())
        raise ValueError(f"peril index {index!r} is not one of 0..{len(PERIL_NAMES) - 1} ({known})")
    return Peril(1 << index)


def peril_index(peril: int) -> int:
    """Return the contract's bit index for a single peril bit."""
    peril_name(peril)  # validates
    return int(peril).bit_length() - 1
