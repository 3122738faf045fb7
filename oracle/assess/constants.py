"""Decision codes and peril bits, numbered exactly as the contracts number them."""

from __future__ import annotations

from enum import IntEnum, IntFlag

from oracle.sources import records as _records


class Decision(IntEnum):
    """A claim decision as the contract encodes it (uint8)."""

    APPROVE = 1  # pay the claim as assessed; instant if within the product's instant limit and confidence
    PARTIAL = 2  # pay less than claimed: the repair estimate is below the claimed amount
    REJECT = 3  # pay nothing, always with reasons and always through the dispute window
    REFER = 4  # a human must look: low confidence, a strong fraud signal, or weather that does not fit


class Peril(IntFlag):
    """Covered perils as the product's bit mask; a claim names exactly one."""

    COLLISION = 1 << 0  # bit0
    HAIL = 1 << 1  # bit1
    FLOOD = 1 << 2  # bit2
    WIND = 1 << 3  # bit3: wind and storm
    THEFT = 1 << 4  # bit4: theft and vandalism
    FIRE = 1 << 5  # bit5


ALL_PERILS = Peril.COLLISION | Peril.HAIL | Peril.FLOOD | Peril.WIND | Peril.THEFT | Peril.FIRE
WEATHER_PERILS = Peril.HAIL | Peril.FLOOD | Peril.WIND
"""Perils for which a weather record near the incident must back the claim."""

PERIL_NAMES = {
    Peril.COLLISION: "collision",
    Peril.HAIL: "hail",
    Peril.FLOOD: "flood",
    Peril.WIND: "wind",
    Peril.THEFT: "theft",
    Peril.FIRE: "fire",
}
BPS = 10_000
SEVERITIES = ("minor", "moderate", "severe")
CLASSES = ("whole",) + SEVERITIES

# sources sit below assess and carry their own copy of the bits; keep them identical
assert (_records.PERIL_COLLISION, _records.PERIL_HAIL, _records.PERIL_FLOOD, _records.PERIL_WIND,
        _records.PERIL_THEFT, _records.PERIL_FIRE) == tuple(int(p) for p in PERIL_NAMES)


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
