"""Open-Meteo historical weather archive: a pure prepare_request and parse_response behind a thin aiohttp fetch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

import aiohttp

from oracle.domain import DEFAULT_GUST_KMH_MIN, Peril
from oracle.encoding import MAX_JSON_DEPTH, json_depth
from oracle.sources.records import (
    DEFAULT_PRECIP_MM_MIN,
    SourceError,
    WeatherRecord,
    haversine_km,
    iso_utc,
    micro_degrees,
    to_epoch,
)

SOURCE_NAME = "open-meteo-archive"
ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"
HOURLY_VARIABLES = ("precipitation", "wind_gusts_10m", "weather_code")
HAIL_WEATHER_CODES = frozenset({96, 99})  # WMO code: thunderstorm with slight / heavy hail
MAX_RESPONSE_BYTES = 2 * 1024 * 1024


class UpstreamError(SourceError):
    """The weather API could not be reached or answered with an error (an adapter maps this to 502)."""


@dataclass(frozen=True)
class PreparedRequest:
    """An HTTP GET to make: URL and query parameters, all strings."""

    url: str
    params: tuple[tuple[str, str], ...]


class _GridFields(TypedDict):
    """The WeatherRecord fields every record of one response shares: the grid cell the archive answered for."""

    source: str
    match: str
    distance_m: int
    lat_e6: int
    lon_e6: int
    as_of: str


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


def _window(when: datetime | int, window_hours: float) -> tuple[int, int]:
    if window_hours < 0 or window_hours > 24 * 31:
        raise ValueError(f"window_hours must be within 0..744, got {window_hours}")
    t = to_epoch(when)
    w = int(round(window_hours * 3600))
    return t - w, t + w


def prepare_request(
    lat: float, lon: float, when: datetime | int, window_hours: float, *, base_url: str = ARCHIVE_URL
) -> PreparedRequest:
    """Build the archive request covering the incident's time window, hourly, in UTC and metric units."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"position ({lat}, {lon}) is not a valid latitude/longitude")
    start, end = _window(when, window_hours)
    params = (
        ("latitude", f"{lat:.4f}"),
        ("longitude", f"{lon:.4f}"),
        ("start_date", _day(start)),
        ("end_date", _day(end)),
        ("hourly", ",".join(HOURLY_VARIABLES)),
        ("timezone", "GMT"),
        ("timeformat", "unixtime"),
        ("wind_speed_unit", "kmh"),
        ("precipitation_unit", "mm"),
    )
    return PreparedRequest(url=base_url, params=params)


def _series(hourly: dict[str, Any], name: str, n: int) -> list[Any]:
    values = hourly.get(name)
    if not isinstance(values, list) or len(values) != n:
        raise SourceError(f"{SOURCE_NAME}: hourly.{name} is missing or not {n} values long")
    return values


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def parse_response(
    body: bytes | str | dict[str, Any],
    *,
    lat: float,
    lon: float,
    when: datetime | int,
    window_hours: float,
    retrieved_at: int,
    gust_kmh_min: float = DEFAULT_GUST_KMH_MIN,
    precip_mm_min: float = DEFAULT_PRECIP_MM_MIN,
) -> list[WeatherRecord]:
    """Summarise an archive response over the window: peak gust, total precipitation and any hail hours."""
    if isinstance(body, (bytes, str)):
        raw = body.encode() if isinstance(body, str) else body
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise SourceError(f"{SOURCE_NAME}: response nests more than {MAX_JSON_DEPTH} deep")
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise SourceError(f"{SOURCE_NAME}: response is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SourceError(f"{SOURCE_NAME}: response must be a JSON object, got {type(body).__name__}")
    if body.get("error"):
        raise UpstreamError(f"{SOURCE_NAME}: the API refused the request: {body.get('reason', 'no reason given')}")
    hourly, units = body.get("hourly"), body.get("hourly_units", {})
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise SourceError(f"{SOURCE_NAME}: response has no hourly.time series")
    if body.get("utc_offset_seconds", 0) != 0:
        raise SourceError(f"{SOURCE_NAME}: expected UTC times, got utc_offset_seconds={body['utc_offset_seconds']}")
    for name, unit in (("wind_gusts_10m", "km/h"), ("precipitation", "mm")):
        if units.get(name) != unit:
            raise SourceError(f"{SOURCE_NAME}: hourly_units.{name} is {units.get(name)!r}, expected {unit!r}")
    times = hourly["time"]
    if not all(isinstance(t, int) for t in times):
        raise SourceError(f"{SOURCE_NAME}: hourly.time must be unix seconds (request timeformat=unixtime)")
    n = len(times)
    gusts = _series(hourly, "wind_gusts_10m", n)
    precip = _series(hourly, "precipitation", n)
    codes = _series(hourly, "weather_code", n)
    start, end = _window(when, window_hours)
    rows = [i for i, t in enumerate(times) if start <= t <= end]
    if not rows:
        raise SourceError(f"{SOURCE_NAME}: response has no hours between {iso_utc(start)} and {iso_utc(end)}")
    grid_lat, grid_lon = float(body.get("latitude", lat)), float(body.get("longitude", lon))
    common = _GridFields(
        source=SOURCE_NAME,
        match="grid",
        distance_m=int(round(haversine_km(lat, lon, grid_lat, grid_lon) * 1000)),
        lat_e6=micro_degrees(grid_lat),
        lon_e6=micro_degrees(grid_lon),
        as_of=iso_utc(retrieved_at),
    )
    key = f"{micro_degrees(grid_lat)},{micro_degrees(grid_lon)}"
    records: list[WeatherRecord] = []

    gust_rows = [i for i in rows if gusts[i] is not None]
    if gust_rows:
        peak = max(gust_rows, key=lambda i: (gusts[i], -i))
        records.append(
            WeatherRecord(
                record_id=f"{key}@{times[peak]}:gust",
                event_type="Peak wind gust",
                perils=Peril.WIND if gusts[peak] >= gust_kmh_min else 0,
                begin=times[peak],
                end=times[peak] + 3599,
                magnitude=_fmt(gusts[peak]),
                magnitude_unit="km/h",
                details=(("thresholdKmh", _fmt(gust_kmh_min)),),
                **common,
            )
        )
    precip_rows = [i for i in rows if precip[i] is not None]
    if precip_rows:
        total = sum(precip[i] for i in precip_rows)
        records.append(
            WeatherRecord(
                record_id=f"{key}@{times[precip_rows[0]]}-{times[precip_rows[-1]]}:precipitation",
                event_type="Precipitation total",
                perils=Peril.FLOOD if total >= precip_mm_min else 0,
                begin=times[precip_rows[0]],
                end=times[precip_rows[-1]] + 3599,
                magnitude=_fmt(total),
                magnitude_unit="mm",
                details=(("hours", str(len(precip_rows))), ("thresholdMm", _fmt(precip_mm_min))),
                **common,
            )
        )
    for i in rows:
        if codes[i] in HAIL_WEATHER_CODES:
            records.append(
                WeatherRecord(
                    record_id=f"{key}@{times[i]}:wmo{codes[i]}",
                    event_type="Thunderstorm with hail",
                    perils=Peril.HAIL,
                    begin=times[i],
                    end=times[i] + 3599,
                    magnitude=str(codes[i]),
                    magnitude_unit="WMO code",
                    **common,
                )
            )
    if not gust_rows and not precip_rows:
        raise SourceError(f"{SOURCE_NAME}: every gust and precipitation value in the window is null")
    return records


async def fetch(session: aiohttp.ClientSession, request: PreparedRequest, *, timeout_s: float = 10.0) -> bytes:
    """Perform a prepared request and return the body; network and HTTP failures raise UpstreamError."""
    try:
        async with session.get(
            request.url, params=list(request.params), timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            body = await response.content.read(MAX_RESPONSE_BYTES + 1)
            if len(body) > MAX_RESPONSE_BYTES:
                raise UpstreamError(f"{SOURCE_NAME}: response is over {MAX_RESPONSE_BYTES} bytes")
            if response.status == 400:
                return body  # the API explains itself in {"error": true, "reason": ...}; parse_response raises
            if response.status != 200:
                raise UpstreamError(f"{SOURCE_NAME}: HTTP {response.status} from {request.url}")
            return body
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"{SOURCE_NAME}: request to {request.url} failed: {type(exc).__name__}: {exc}") from None
    except TimeoutError:
        raise UpstreamError(f"{SOURCE_NAME}: no answer from {request.url} within {timeout_s} s") from None


async def weather_near(
    session: aiohttp.ClientSession,
    lat: float,
    lon: float,
    when: datetime | int,
    window_hours: float,
    *,
    retrieved_at: int,
    base_url: str = ARCHIVE_URL,
    timeout_s: float = 10.0,
    gust_kmh_min: float = DEFAULT_GUST_KMH_MIN,
    precip_mm_min: float = DEFAULT_PRECIP_MM_MIN,
) -> list[WeatherRecord]:
    """Fetch and summarise archive weather around an incident (retrieved_at is the caller's clock reading)."""
    request = prepare_request(lat, lon, when, window_hours, base_url=base_url)
    body = await fetch(session, request, timeout_s=timeout_s)
    return parse_response(
        body,
        lat=lat,
        lon=lon,
        when=when,
        window_hours=window_hours,
        retrieved_at=retrieved_at,
        gust_kmh_min=gust_kmh_min,
        precip_mm_min=precip_mm_min,
    )
