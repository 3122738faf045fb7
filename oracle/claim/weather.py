"""The weather a claim needs: its sources asked together, and a total upstream outage raised to retry later."""

from __future__ import annotations

from collections.abc import Sequence

from oracle.assess import WEATHER_PERILS, Claim, weather_query
from oracle.sources.open_meteo import UpstreamError
from oracle.sources.records import WeatherQuery, WeatherRecord
from oracle.sources.terms import Terms
from oracle.sources.weather import WeatherSource, gather_weather


class _WatchedSource:
    """A weather source that remembers whether it failed because its upstream was unreachable."""

    def __init__(self, source: WeatherSource) -> None:
        self.source = source
        self.name = source.name
        self.upstream_failure: UpstreamError | None = None

    async def records(self, query: WeatherQuery) -> list[WeatherRecord]:
        """Ask the wrapped source, noting an UpstreamError before passing it on."""
        try:
            return await self.source.records(query)
        except UpstreamError as exc:
            self.upstream_failure = exc
            raise


async def claim_weather(
    sources: Sequence[WeatherSource], claim: Claim, terms: Terms | None
) -> list[WeatherRecord] | None:
    """Gather weather for a claim whose peril needs it; a total upstream outage raises UpstreamError to retry."""
    if terms is None or not claim.peril & WEATHER_PERILS:
        return None  # no weather rule applies to this peril, so no source is asked
    watched = [_WatchedSource(s) for s in sources]
    result = await gather_weather(watched, weather_query(claim, terms))
    outages = [w.upstream_failure for w in watched if w.upstream_failure is not None]
    if result.records is None and outages:
        # deciding REFER on a transient outage would put it on-chain; let the caller retry instead
        reasons = "; ".join(f"{name}: {error}" for name, error in result.errors)
        raise UpstreamError(f"every weather source failed for claim {claim.claim_id}: {reasons}")
    return result.records
