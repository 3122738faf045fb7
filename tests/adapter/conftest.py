"""Fixtures for the adapter tests: the real app factory around a real assessor, store and (when exported) model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oracle.adapter.app import create_app
from oracle.adapter.schema import bridge_data
from oracle.assess import Claim
from oracle.settings import load_settings
from tests.claim.conftest import (  # noqa: F401 - fixtures shared with the pipeline tests
    damage_model,
    make_assessor,
    make_context,
    noaa,
    photo_bytes,
    store,
    terms_hash,
)


def bridge_body(ctx: Claim, job_id: object = "job-1", **data_overrides) -> dict:
    """A Chainlink bridge request for a claim, as the job spec sends it."""
    data = bridge_data(ctx)
    data.update(data_overrides)
    return {"id": job_id, "data": data, "meta": {"oracleRequest": {"requester": "0x" + "00" * 20}}}


@pytest.fixture
def make_client(aiohttp_client, store) -> Callable:  # noqa: F811 - `store` is the fixture imported above
    """Factory: a test client around create_app(settings, assessor, store), with settings overrides."""

    async def build(assessor, **settings_overrides):
        settings = load_settings(**settings_overrides)
        return await aiohttp_client(create_app(settings, assessor, store))

    return build
