"""The weather record every weather source returns, in a form that goes straight into an explanation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oracle.domain import DEFAULT_GUST_KMH_MIN

EARTH_RADIUS_KM = 6371.0088

DEFAULT_PRECIP_MM_MIN = 50.0  # total over the window; flash-flood territory in most places


class SourceError(Exception):
    """A data source failed or answered with something unusable; the message names the source and value."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def to_epoch(when: datetime | int) -> int:
    """Return whole seconds since the epoch for an aware datetime or an int; naive datetimes are refused."""
    if isinstance(when, int) and not isinstance(when, bool):
        return when
    if not isinstance(when, datetime):
        raise TypeError(f"time must be an aware datetime or epoch seconds, got {type(when).__name__} {when!r}")
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"time {when.isoformat()} has no timezone; pass an aware datetime (UTC)")
    return int(when.timestamp())


def iso_utc(epoch: int) -> str:
    """Return epoch seconds as an ISO 8601 UTC string ending in Z."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_degrees(value: float) -> int:
    """Return degrees as integer micro-degrees (the form coordinates take on-chain and in documents)."""
    return int(round(value * 1_000_000))


@dataclass(frozen=True, order=True)
class WeatherRecord:
    """One observation or event from a weather source, near a claimed incident, with integer-only fields."""

    source: str
    record_id: str
    event_type: str
    perils: int
    begin: int
    end: int
    match: str
    distance_m: int | None = None
    lat_e6: int | None = None
    lon_e6: int | None = None
    magnitude: str | None = None
    magnitude_unit: str | None = None
    as_of: str = ""
    details: tuple[tuple[str, str], ...] = field(default=())

    def supports(self, peril: int) -> bool:
        """Say whether this record is evidence for the given peril bit."""
        return bool(self.perils & peril)

    def to_doc(self) -> dict[str, Any]:
        """Return the record as a canonical-JSON-ready dict for the explanation."""
        return {
            "source": self.source,
            "recordId": self.record_id,
            "eventType": self.event_type,
            "perils": self.perils,
            "begin": self.begin,
            "beginIso": iso_utc(self.begin),
            "end": self.end,
            "endIso": iso_utc(self.end),
            "match": self.match,
            "distanceM": self.distance_m,
            "latE6": self.lat_e6,
            "lonE6": self.lon_e6,
            "magnitude": self.magnitude,
            "magnitudeUnit": self.magnitude_unit,
            "asOf": self.as_of,
            "details": {key: value for key, value in self.details},
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> WeatherRecord:
        """Read a record back from an explanation (the inverse of to_doc)."""
        return cls(
            source=doc["source"],
            record_id=doc["recordId"],
            event_type=doc["eventType"],
            perils=doc["perils"],
            begin=doc["begin"],
            end=doc["end"],
            match=doc["match"],
            distance_m=doc["distanceM"],
            lat_e6=doc["latE6"],
            lon_e6=doc["lonE6"],
            magnitude=doc["magnitude"],
            magnitude_unit=doc["magnitudeUnit"],
            as_of=doc["asOf"],
            details=tuple(sorted(doc["details"].items())),
        )


@dataclass(frozen=True)
class WeatherQuery:
    """Where, when and what to look for: the claimed peril bit around an incident, with the terms' limits."""

    peril: int
    lat: float
    lon: float
    when: int
    radius_km: float
    window_hours: float
    county_fips: str | None = None
    zone_fips: str | None = None
    gust_kmh_min: float = DEFAULT_GUST_KMH_MIN
    precip_mm_min: float = DEFAULT_PRECIP_MM_MIN
