"""Build the claim assessor from settings: the one wiring every command (node, adapter, verify, demo) uses.

Live weather sources stay off the committee's path. An Open-Meteo record embeds the time it was retrieved
(`asOf`), so two members fetching it would never agree byte for byte on the explanation and no quorum could
form. Nodes and `verify` therefore read only the NOAA bulk files, which every member holds identically; the
adapter may add Open-Meteo for a single Chainlink bridge (`claims-oracle adapter --weather noaa,open-meteo`),
whose answers are then its own and not reproducible by other members.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from oracle.cas.store import ContentStore, open_store
from oracle.claim.assessor import ClaimAssessor
from oracle.explain.document import describe_code_version
from oracle.privacy import EvidenceOpener
from oracle.settings import Settings
from oracle.sources.history import ClaimsHistory
from oracle.sources.weather import NoaaStormEventsSource, OpenMeteoArchiveSource, WeatherSource
from oracle.vision import DamageModel

NOAA, OPEN_METEO = "noaa", "open-meteo"
WEATHER_CHOICES = (NOAA, OPEN_METEO)
COMMITTEE_WEATHER = (NOAA,)
"""The weather sources whose records every committee member reproduces byte for byte."""


def weather_sources(
    settings: Settings, names: Sequence[str] = COMMITTEE_WEATHER, session: aiohttp.ClientSession | None = None
) -> list[WeatherSource]:
    """The named weather sources; NOAA only when its tables are there, Open-Meteo only with an HTTP session."""
    unknown = [name for name in names if name not in WEATHER_CHOICES]
    if unknown:
        raise ValueError(f"unknown weather source(s) {unknown}; choose from {list(WEATHER_CHOICES)}")
    sources: list[WeatherSource] = []
    if NOAA in names and settings.tables_dir.is_dir():
        sources.append(NoaaStormEventsSource(settings.tables_dir))
    if OPEN_METEO in names:
        if session is None:
            raise ValueError("the open-meteo weather source needs an HTTP session")
        sources.append(
            OpenMeteoArchiveSource(session, base_url=settings.weather_api_url, timeout_s=settings.weather_api_timeout_s)
        )
    return sources


def load_model(settings: Settings) -> DamageModel:
    """The damage model named by the settings, with the settings' thread count."""
    return DamageModel.load(settings.model_path, threads=settings.model_threads or None)


def build_assessor(
    settings: Settings,
    history: ClaimsHistory,
    model: DamageModel | None,
    *,
    sources: Sequence[WeatherSource] | None = None,
    code_version: str | None = None,
    workers: int = 1,
    record_history: bool = False,
    store: ContentStore | None = None,
    reader: EvidenceOpener | None = None,
) -> ClaimAssessor:
    """A ClaimAssessor over the settings' content store and evidence limits (the committee's weather by default)."""
    return ClaimAssessor(
        store or open_store(settings.content_store_url, max_blob_bytes=settings.max_blob_bytes),
        model,
        weather_sources(settings) if sources is None else sources,
        history,
        code_version or describe_code_version(),
        max_workers=workers,
        max_photos=settings.max_photos,
        max_photo_bytes=settings.max_photo_bytes,
        record_history=record_history,
        reader=reader,
    )
