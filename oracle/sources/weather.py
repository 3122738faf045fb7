"""One interface over the weather sources: a query, the NOAA and Open-Meteo sources, and a gatherer for the node."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import aiohttp

from oracle.sources import noaa, open_meteo
from oracle.sources.records import SourceError, WeatherQuery, WeatherRecord


@runtime_checkable
class WeatherSource(Protocol):
    """A weather source the node can ask for records near an incident."""

    name: str

    async def records(self, query: WeatherQuery) -> list[WeatherRecord]:
        """Return the source's records for the query, or raise SourceError."""
        ...


class NoaaStormEventsSource:
    """NOAA Storm Events from the bulk files in a directory, parsed once on first use."""

    name = noaa.SOURCE_NAME

    def __init__(self, tables_dir: Path | str) -> None:
        self.tables_dir = Path(tables_dir)

    def warm(self) -> None:
        """Parse the bulk files now (about half a second), so the first weather claim does not wait for it."""
        noaa.load_storm_events(self.tables_dir)

    async def records(self, query: WeatherQuery) -> list[WeatherRecord]:
        """Return Storm Events of the peril near the incident (the first call parses the files in a thread)."""
        events = await asyncio.to_thread(noaa.load_storm_events, self.tables_dir)
        return events.events_near(
            query.peril,
            query.lat,
            query.lon,
            query.when,
            query.radius_km,
            query.window_hours,
            county_fips=query.county_fips,
            zone_fips=query.zone_fips,
        )


class OpenMeteoArchiveSource:
    """The Open-Meteo historical archive over HTTP; `clock` gives the retrieval time recorded in each record."""

    name = open_meteo.SOURCE_NAME

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str = open_meteo.ARCHIVE_URL,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.clock = clock

    async def records(self, query: WeatherQuery) -> list[WeatherRecord]:
        """Return the archive's gust, precipitation and hail records around the incident."""
        return await open_meteo.weather_near(
            self.session,
            query.lat,
            query.lon,
            query.when,
            query.window_hours,
            retrieved_at=int(self.clock()),
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            gust_kmh_min=query.gust_kmh_min,
            precip_mm_min=query.precip_mm_min,
        )


@dataclass(frozen=True)
class WeatherResult:
    """What the sources returned: records (None when every source failed) and each failure, by source name."""

    records: list[WeatherRecord] | None
    errors: tuple[tuple[str, str], ...] = field(default=())


async def gather_weather(sources: Sequence[WeatherSource], query: WeatherQuery) -> WeatherResult:
    """Ask every source at once; keep what succeeded, and report None only when all of them failed."""
    if not sources:
        return WeatherResult(records=None, errors=(("(none)", "no weather source configured"),))
    outcomes = await asyncio.gather(*(s.records(query) for s in sources), return_exceptions=True)
    records: list[WeatherRecord] = []
    errors: list[tuple[str, str]] = []
    ok = 0
    for source, outcome in zip(sources, outcomes, strict=True):
        if isinstance(outcome, (SourceError, ValueError, OSError)):
            errors.append((source.name, f"{type(outcome).__name__}: {outcome}"))
        elif isinstance(outcome, BaseException):
            raise outcome  # a bug, not an outage: let it surface
        else:
            ok += 1
            records.extend(outcome)
    records.sort(key=lambda r: (r.source, r.distance_m is None, r.distance_m or 0, r.begin, r.record_id))
    return WeatherResult(records=records if ok else None, errors=tuple(errors))
