"""Tests for the weather source interface and the gatherer the node uses, on NOAA files and a replayed API."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from oracle.assess import Decision, assess, weather_query
from oracle.domain import Peril
from oracle.sources.records import SourceError, WeatherQuery
from oracle.sources.weather import (
    NoaaStormEventsSource,
    OpenMeteoArchiveSource,
    WeatherSource,
    gather_weather,
)
from tests.factories import FIXTURES, HAIL_TIME

RECORDED = FIXTURES / "open_meteo_archive_30.5_-85.3_2019-03-01_2019-03-03.json"
QUERY = WeatherQuery(peril=Peril.HAIL, lat=30.5, lon=-85.3, when=HAIL_TIME, radius_km=25, window_hours=24)


class _Broken:
    name = "broken"

    async def records(self, query):
        raise SourceError("broken: upstream down")


async def _with_archive(run, status=200):
    async def handler(request):
        return web.Response(status=status, body=RECORDED.read_bytes(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/archive", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            source = OpenMeteoArchiveSource(session, base_url=str(server.make_url("/v1/archive")), clock=lambda: 1e9)
            return await run(source)
    finally:
        await server.close()


def test_gather_weather__noaa_and_archive__records_from_both(tables_dir):
    noaa = NoaaStormEventsSource(tables_dir)
    assert isinstance(noaa, WeatherSource)
    result = asyncio.run(_with_archive(lambda archive: gather_weather([noaa, archive], QUERY)))
    assert result.errors == ()
    sources = {r.source for r in result.records if r.perils & Peril.HAIL}
    assert sources == {"noaa-storm-events", "open-meteo-archive"}
    assert all(r.as_of == "2001-09-09T01:46:40Z" for r in result.records if r.source == "open-meteo-archive")


def test_gather_weather__one_source_fails__keeps_the_other_and_reports_error():
    result = asyncio.run(_with_archive(lambda archive: gather_weather([_Broken(), archive], QUERY)))
    assert result.records and result.errors == (("broken", "SourceError: broken: upstream down"),)


def test_gather_weather__all_sources_fail__records_none():
    result = asyncio.run(_with_archive(lambda archive: gather_weather([_Broken(), archive], QUERY), status=503))
    assert result.records is None
    assert [name for name, _ in result.errors] == ["broken", "open-meteo-archive"]
    assert "HTTP 503" in result.errors[1][1]
    assert asyncio.run(gather_weather([], QUERY)).records is None


def test_weather_query__from_claim_and_terms__carries_terms_limits(claim, terms):
    query = weather_query(claim, terms)
    assert (query.peril, query.when, query.radius_km, query.window_hours) == (Peril.HAIL, HAIL_TIME, 25, 24)
    assert (query.lat, query.lon, query.county_fips) == (30.5, -85.3, "12013")
    assert query.gust_kmh_min == terms.thresholds.weather_gust_kmh_min


def test_assess__archive_reports_hail_hour__hail_claim_supported(make_inputs, claim, terms):
    result = asyncio.run(_with_archive(lambda archive: gather_weather([archive], weather_query(claim, terms))))
    assessment = assess(make_inputs(weather=result.records))
    assert assessment.decision is Decision.APPROVE
    supported = next(r for r in assessment.rules if r.id == "weather.supported")
    assert "open-meteo-archive" in supported.reason and "Thunderstorm with hail" in supported.reason
