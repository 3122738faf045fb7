"""Tests for the Open-Meteo archive client: pure request/parse steps and a fetch against a local replay server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from oracle.domain import Peril
from oracle.sources.open_meteo import (
    SourceError,
    UpstreamError,
    parse_response,
    prepare_request,
    weather_near,
)
from tests.factories import FIXTURES

RECORDED = FIXTURES / "open_meteo_archive_30.5_-85.3_2019-03-01_2019-03-03.json"
ERROR = FIXTURES / "open_meteo_archive_error.json"
WHEN = datetime(2019, 3, 2, 10, 20, tzinfo=UTC)
RETRIEVED = 1_763_800_000
LAT, LON = 30.5, -85.3


def _parse(body, **kw):
    args = dict(lat=LAT, lon=LON, when=WHEN, window_hours=24, retrieved_at=RETRIEVED)
    args.update(kw)
    return parse_response(body, **args)


def test_prepare_request__incident_window__spans_dates_in_utc_unixtime():
    request = prepare_request(LAT, LON, WHEN, 24)
    params = dict(request.params)
    assert request.url == "https://archive-api.open-meteo.com/v1/archive"
    assert (params["start_date"], params["end_date"]) == ("2019-03-01", "2019-03-03")
    assert params["hourly"] == "precipitation,wind_gusts_10m,weather_code"
    assert (params["timezone"], params["timeformat"]) == ("GMT", "unixtime")
    assert (params["latitude"], params["longitude"]) == ("30.5000", "-85.3000")


def test_prepare_request__bad_position_or_window__raises():
    with pytest.raises(ValueError, match="latitude"):
        prepare_request(91, 0, WHEN, 24)
    with pytest.raises(ValueError, match="window_hours"):
        prepare_request(LAT, LON, WHEN, -1)


def test_parse_response__fixture__peak_gust_precip_total_and_hail_hour():
    records = _parse(RECORDED.read_bytes())
    by_type = {}
    for r in records:
        by_type.setdefault(r.event_type, []).append(r)
    gust = by_type["Peak wind gust"][0]
    assert gust.magnitude == "82.4" and gust.perils == Peril.WIND
    assert gust.begin == int(datetime(2019, 3, 2, 10, tzinfo=UTC).timestamp())
    precip = by_type["Precipitation total"][0]
    assert precip.magnitude == "25.7" and precip.perils == 0  # below the 50 mm flood threshold
    hail = by_type["Thunderstorm with hail"]
    assert [r.magnitude for r in hail] == ["96"] and hail[0].perils == Peril.HAIL
    assert gust.match == "grid" and 0 < gust.distance_m < 5_000
    assert gust.as_of == "2025-11-22T08:26:40Z"


def test_parse_response__thresholds_from_terms__change_which_perils_records_support():
    records = _parse(RECORDED.read_bytes(), gust_kmh_min=90, precip_mm_min=20)
    perils = {r.event_type: r.perils for r in records}
    assert perils["Peak wind gust"] == 0
    assert perils["Precipitation total"] == Peril.FLOOD


def test_parse_response__narrow_window__only_hours_inside_count():
    records = _parse(RECORDED.read_bytes(), when=datetime(2019, 3, 3, 12, tzinfo=UTC), window_hours=2)
    assert not any(r.event_type == "Thunderstorm with hail" for r in records)
    gust = next(r for r in records if r.event_type == "Peak wind gust")
    assert float(gust.magnitude) < 40


def test_parse_response__api_error_body__raises_upstream_error_with_reason():
    with pytest.raises(UpstreamError, match="out of allowed range"):
        _parse(ERROR.read_bytes())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b.pop("hourly"), "no hourly.time"),
        (lambda b: b["hourly_units"].update(wind_gusts_10m="mph"), "expected 'km/h'"),
        (lambda b: b["hourly"]["precipitation"].pop(), "not 72 values long"),
        (lambda b: b.update(utc_offset_seconds=3600), "utc_offset_seconds=3600"),
    ],
)
def test_parse_response__malformed_body__raises_naming_field(mutate, message):
    body = json.loads(RECORDED.read_bytes())
    mutate(body)
    with pytest.raises(SourceError, match=message):
        _parse(body)


def test_parse_response__not_json__raises():
    with pytest.raises(SourceError, match="not JSON"):
        _parse(b"<html>")


async def _serve_and_fetch(handler, **kw):
    app = web.Application()
    app.router.add_get("/v1/archive", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            return await weather_near(
                session,
                LAT,
                LON,
                WHEN,
                24,
                retrieved_at=RETRIEVED,
                base_url=str(server.make_url("/v1/archive")),
                **kw,
            )
    finally:
        await server.close()


def test_weather_near__replayed_fixture__sends_documented_params_and_parses():
    seen = {}

    async def handler(request: web.Request) -> web.Response:
        seen.update(request.query)
        return web.Response(body=RECORDED.read_bytes(), content_type="application/json")

    records = asyncio.run(_serve_and_fetch(handler))
    assert seen["start_date"] == "2019-03-01" and seen["hourly"] == "precipitation,wind_gusts_10m,weather_code"
    assert any(r.perils & Peril.HAIL for r in records)


def test_weather_near__http_400_with_reason__raises_upstream_error():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=400, body=ERROR.read_bytes(), content_type="application/json")

    with pytest.raises(UpstreamError, match="out of allowed range"):
        asyncio.run(_serve_and_fetch(handler))


def test_weather_near__http_503__raises_upstream_error_with_status():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503, text="busy")

    with pytest.raises(UpstreamError, match="HTTP 503"):
        asyncio.run(_serve_and_fetch(handler))


def test_weather_near__server_too_slow__raises_upstream_timeout():
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="{}")

    with pytest.raises(UpstreamError, match="within 0.2 s"):
        asyncio.run(_serve_and_fetch(handler, timeout_s=0.2))


def test_weather_near__nothing_listening__raises_upstream_error():
    async def run():
        async with aiohttp.ClientSession() as session:
            return await weather_near(
                session,
                LAT,
                LON,
                WHEN,
                24,
                retrieved_at=RETRIEVED,
                base_url="http://127.0.0.1:9/v1/archive",
                timeout_s=2,
            )

    with pytest.raises(UpstreamError, match="failed"):
        asyncio.run(run())
