"""Data sources, one module each: NOAA Storm Events, the Open-Meteo archive, terms documents, claims history."""

from oracle.sources.history import (
    ClaimOrder,
    ClaimsHistory,
    InMemoryClaimsHistory,
    PriorClaim,
    PriorPhoto,
    claim_order,
)
from oracle.sources.records import SourceError, WeatherQuery, WeatherRecord, haversine_km

__all__ = [
    "ClaimOrder",
    "claim_order",
    "ClaimsHistory",
    "InMemoryClaimsHistory",
    "PriorClaim",
    "PriorPhoto",
    "SourceError",
    "WeatherQuery",
    "WeatherRecord",
    "haversine_km",
]
