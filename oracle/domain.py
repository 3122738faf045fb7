"""Every domain constant the oracle, the contracts and the dApp share, defined once (imports nothing of ours)."""

from __future__ import annotations

from enum import IntEnum, IntFlag
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package lives in; relative defaults hang off it."""

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""Anvil's public test mnemonic: the local dev chain's accounts (never for real funds)."""

BPS = 10_000
"""Basis points in one: confidences and probabilities are integers 0..BPS."""

REPORT_VALIDITY_S = 7 * 24 * 3600
"""How long after a claim's submission a signed report on it stays valid (its EIP-712 `deadline`)."""


class Decision(IntEnum):
    """A claim decision as the contract encodes it (uint8)."""

    APPROVE = 1  # pay the claim as assessed; instant if within the product's instant limit and confidence
    PARTIAL = 2  # pay less than claimed: the repair estimate is below the claimed amount
    REJECT = 3  # pay nothing, always with reasons and always through the dispute window
    REFER = 4  # a human must look: low confidence, a strong fraud signal, or weather that does not fit


class Peril(IntFlag):
    """Covered perils as the product's bit mask; a claim names exactly one (the contract's event gives its bit
    index)."""

    COLLISION = 1 << 0
    HAIL = 1 << 1
    FLOOD = 1 << 2
    WIND = 1 << 3  # wind and storm
    THEFT = 1 << 4  # theft and vandalism
    FIRE = 1 << 5


PERIL_NAMES: dict[Peril, str] = {
    Peril.COLLISION: "collision",
    Peril.HAIL: "hail",
    Peril.FLOOD: "flood",
    Peril.WIND: "wind",
    Peril.THEFT: "theft",
    Peril.FIRE: "fire",
}
ALL_PERILS = Peril.COLLISION | Peril.HAIL | Peril.FLOOD | Peril.WIND | Peril.THEFT | Peril.FIRE
WEATHER_PERILS = Peril.HAIL | Peril.FLOOD | Peril.WIND
"""Perils for which a weather record near the incident must back the claim."""


class ClaimStatus(IntEnum):
    """A claim's status as the contract stores it."""

    UNKNOWN = 0
    SUBMITTED = 1
    DECIDED = 2
    DISPUTED = 3
    RESOLVED = 4
    PAID = 5
    REVIEW = 6  # a REFER waiting for the insurer's adjuster (the dispute desk's review)


STATUS_WORDS: dict[ClaimStatus, str] = {
    ClaimStatus.UNKNOWN: "unknown",
    ClaimStatus.SUBMITTED: "submitted",
    ClaimStatus.DECIDED: "decided, window open",
    ClaimStatus.DISPUTED: "disputed",
    ClaimStatus.RESOLVED: "resolved",
    ClaimStatus.PAID: "paid",
    ClaimStatus.REVIEW: "referred, in the insurer's review",
}


class Ruling(IntEnum):
    """ERC-792 ruling options of a claim dispute, numbered as the contract numbers them."""

    REFUSED = 0  # no ruling: the decision on record stands; a claim with none (escalated, referred) pays as CLAIMANT
    ASSESSED = 1  # the insurer's side: the amount the oracle or the adjuster assessed (0 when there is none)
    CLAIMANT = 2  # the claimant's side: its counter-offer, else the claimed amount less the deductible
    NOTHING = 3  # nothing


HEATMAP_RAMP: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (20, 40, 160)),
    (0.35, (30, 200, 220)),
    (0.65, (250, 220, 40)),
    (1.0, (220, 30, 20)),
)
"""The heat maps' colour ramp, blue (the model looked least) to red (most): drawn by the nodes, shown as the legend."""

DECISION_WORDS: dict[Decision, str] = {
    Decision.APPROVE: "approved",
    Decision.PARTIAL: "partly approved",
    Decision.REJECT: "turned down",
    Decision.REFER: "sent to a person for review",
}
"""A decision as people read it; the code's name (REFER...) stays in the technical details."""

RULE_OUTCOME_WORDS: dict[str, str] = {"REJECT": "Against the claim", "REFER": "Needs a person", "INFO": "Note"}
"""What a fired rule's outcome means, in words, keyed by the outcome an explanation records."""

RULING_WORDS: dict[Ruling, str] = {
    Ruling.ASSESSED: "The assessed amount",
    Ruling.CLAIMANT: "The claimant's amount",
    Ruling.NOTHING: "Nothing",
}
"""The ruling options as an arbitrator reads them (the dApp adds each one's amount); also the ERC-1497 meta-evidence's
`rulingOptions` titles, which `RULING_DESCRIPTIONS` explains."""

RULING_DESCRIPTIONS: dict[Ruling, str] = {
    Ruling.ASSESSED: "Pay the amount the oracle committee or the insurer's adjuster assessed (nothing if neither did).",
    Ruling.CLAIMANT: "Pay the claimant's recorded counter-offer, or if it recorded none the claimed amount less the "
    "deductible; the insurer reimburses the claimant's arbitration fee.",
    Ruling.NOTHING: "Pay nothing: the claim has no merit.",
}
"""What each ruling pays, for the ERC-1497 meta-evidence's `rulingOptions.descriptions`."""


def meta_evidence(title: str, description: str) -> dict[str, Any]:
    """An ERC-1497 meta-evidence document for a product's disputes, with the desk's numbered ruling options."""
    return {
        "title": title,
        "description": description,
        "question": "How much should the insurer pay on this claim?",
        "rulingOptions": {
            "type": "single-select",
            "titles": [RULING_WORDS[r] for r in RULING_WORDS],
            "descriptions": [RULING_DESCRIPTIONS[r] for r in RULING_WORDS],
        },
    }


CLASSES: tuple[str, ...] = ("whole", "minor", "moderate", "severe")
"""The damage model's classes in output order: index i of a probability vector is CLASSES[i]."""
SEVERITIES: tuple[str, ...] = CLASSES[1:]
"""The damage classes (every class but whole), from least to most severe."""

STALE_AFTER_S = 30 * 86_400
"""How long past its oracle timeout an unanswered, unescalated claim waits before anyone may close it (the
contract's STALE_AFTER)."""
DISPUTE_TIMEOUT_S = 30 * 86_400
"""How long after a dispute opened anyone may close it unruled, with the oracle's decision standing (the dispute
desk's DISPUTE_TIMEOUT)."""
ARBITRATION_RESERVE_WEI = 10**17
"""What a new product's insurer puts in the dispute desk for its share of arbitration fees (0.1 ETH, ten of the demo
panel's 0.01 ETH fees): without it, a claimant who disputes or a REFER nobody reviews wins by default."""
REVIEW_DEADLINE_S = 7 * 86_400
"""How long the demo product's adjuster has to review a REFER before anyone may send it to the arbitrator at the
insurer's cost (a product chooses 1 hour..14 days)."""
DEFAULT_MAX_OPEN_CLAIMS = 3
MAX_VEHICLE_CLASSES = 8
"""The most vehicle classes a product prices (the contracts' MAX_CLASSES): a holder declares one when buying, by its
index in the terms' cost schedule, and pays the base premium times that class's factor."""
MAX_CLASS_FACTOR_BPS = 2**20 - 1
"""The largest class factor, in basis points of the base premium (the governor's MAX_CLASS_FACTOR: 20 bits each)."""
"""K: the most open claims a policy may have at once, unless its product says otherwise (1..255)."""
AREA_GRID_E6 = 100_000
"""A claim's place on-chain, in micro-degrees, is a multiple of this (0.1 degree, about 11 km); the contract's own
AREA_GRID_E6. The precise place travels sealed in the evidence manifest."""
MAX_PIXELS = 40_000_000
"""Largest image (width x height) any part decodes; above it Pillow needs gigabytes: a decompression bomb."""
DEFAULT_MAX_PHOTOS = 12
DEFAULT_MAX_PHOTO_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024
EVIDENCE_RETENTION_DAYS = 180
"""How long after a claim is final a committee member's IPFS peer keeps its evidence pinned, unless the product's
terms say otherwise (`evidenceRetentionDays`); evidence read but held by no claim goes this long after it was read."""
EVIDENCE_RETENTION_S = EVIDENCE_RETENTION_DAYS * 86_400
MAX_EVIDENCE_RETENTION_DAYS = 3650
PHOTO_TYPES: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
"""Photo formats a claim may carry (Pillow's format name -> media type)."""

HEIC_WORDS = "a HEIC photo (the iPhone's own format)"
HEIC_BRANDS: tuple[bytes, ...] = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
"""The ISO-BMFF brands (after `ftyp` at byte 4) of HEIF/HEIC files, as phones' cameras write them."""

FILE_SIGNATURES: tuple[tuple[str, str | None, tuple[tuple[int, bytes], ...]], ...] = (
    ("a JPEG photo", "image/jpeg", ((0, b"\xff\xd8\xff"),)),
    ("a PNG image", "image/png", ((0, b"\x89PNG\r\n\x1a\n"),)),
    ("a WebP image", "image/webp", ((0, b"RIFF"), (8, b"WEBP"))),
    ("a PDF document", None, ((0, b"%PDF-"),)),
    *((HEIC_WORDS, None, ((4, b"ftyp" + brand),)) for brand in HEIC_BRANDS),
    ("an AVIF image", None, ((4, b"ftypavif"),)),
    ("a GIF image", None, ((0, b"GIF8"),)),
    ("a ZIP archive or office document", None, ((0, b"PK\x03\x04"),)),
)
"""How the browser tells a file's real type from its first bytes: (words, photo media type or None, (offset,
magic) parts that must all match); a file that is no photo is named in words, whatever its name's extension."""

DEFAULT_GUST_KMH_MIN = 75.0
"""Gust speed from which wind backs a wind claim: roughly Beaufort 9 (severe gale), where loose objects damage cars."""


def public_area(place_e6: tuple[int, int]) -> tuple[int, int]:
    """The on-chain area of a precise place: each micro-degree coordinate rounded to the AREA_GRID_E6 grid."""
    lat_e6, lon_e6 = place_e6
    return round(lat_e6 / AREA_GRID_E6) * AREA_GRID_E6, round(lon_e6 / AREA_GRID_E6) * AREA_GRID_E6


def dapp_constants() -> dict[str, Any]:
    """Return the constants the dApp needs, as JSON, so the browser keeps no copy of its own."""
    return {
        "decisions": {d.name: int(d) for d in Decision},
        "perils": [PERIL_NAMES[p] for p in PERIL_NAMES],
        "weatherPerils": [PERIL_NAMES[p] for p in PERIL_NAMES if p & WEATHER_PERILS],
        "statuses": [STATUS_WORDS[s] for s in ClaimStatus],
        "decisionWords": {d.name: DECISION_WORDS[d] for d in Decision},
        "ruleOutcomeWords": RULE_OUTCOME_WORDS,
        "heatmapRamp": [[stop, list(rgb)] for stop, rgb in HEATMAP_RAMP],
        "rulings": [{"code": int(r), "name": RULING_WORDS[r]} for r in RULING_WORDS],
        "classes": list(CLASSES),
        "severities": list(SEVERITIES),
        "bps": BPS,
        "areaGridE6": AREA_GRID_E6,
        "maxVehicleClasses": MAX_VEHICLE_CLASSES,
        "staleAfterS": STALE_AFTER_S,
        "disputeTimeoutS": DISPUTE_TIMEOUT_S,
        "reviewDeadlineS": REVIEW_DEADLINE_S,
        "arbitrationReserveWei": str(ARBITRATION_RESERVE_WEI),
        "photoTypes": sorted(PHOTO_TYPES.values()),
        "fileSignatures": [
            {"words": words, "mediaType": media, "parts": [[offset, magic.hex()] for offset, magic in parts]}
            for words, media, parts in FILE_SIGNATURES
        ],
    }
