"""The short fuzz run of `make test`: about 500 generated requests across every route of a gateway on anvil, and not
one 5xx or dropped connection (`make fuzz` sends 10,000)."""

from __future__ import annotations

import asyncio

from oracle.dev.fuzz import ROUTES, fuzz
from tests.chain_fixtures import needs_model


@needs_model
def test_fuzz__500_generated_requests_across_every_route__no_5xx_and_no_dropped_connection():
    result = asyncio.run(fuzz(504, seed=3, with_model=True))
    assert sum(result["statuses"].values()) == 504
    assert result["serverErrors"] == 0, result["failures"]
    assert {route.split(" ", 1)[1] for route in result["byRoute"]} == {template for _, template in ROUTES}
    assert all(status.isdigit() and 200 <= int(status) < 500 for status in result["statuses"])
