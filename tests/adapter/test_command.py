"""The `claims-oracle adapter` command: its options and the app it builds from the settings."""

from __future__ import annotations

import argparse

import pytest

from oracle.adapter import command
from oracle.cas import cid_for_bytes
from oracle.settings import load_settings


def test_add_arguments__defaults__come_from_settings_at_run_time():
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port, args.weather) == ("0.0.0.0", 9001, "noaa,open-meteo")


def test_weather_names__unknown_source__exits_naming_it():
    with pytest.raises(SystemExit, match=r"unknown source\(s\) \['accuweather'\]"):
        command._weather_names("noaa,accuweather")


@pytest.mark.asyncio
async def test_build_app__no_model_file__gateway_serves_and_health_says_why(aiohttp_client, tmp_path, capsys):
    settings = load_settings(
        model_path=tmp_path / "missing.onnx",
        content_store_url=f"file://{tmp_path / 'cas'}",
        state_dir=tmp_path,
        db_url=f"sqlite:///{tmp_path / 'gateway.db'}",
    )
    client = await aiohttp_client(await command.build_app(settings, ["noaa"], workers=1))
    health = await client.get("/health")
    assert health.status == 503 and (await health.json())["ok"] is False
    assert (await client.get("/content/" + cid_for_bytes(b"absent"))).status == 404  # the gateway answers
    upload = await client.post("/content", data=b"{}")  # uploads need a policy holder's permit
    assert upload.status == 401 and "permit" in (await upload.json())["error"]["message"]
    assert "serving the gateway only" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_build_app__model_present__health_reports_its_hash(aiohttp_client, tmp_path, damage_model):
    settings = load_settings(
        model_path=damage_model.path, content_store_url="memory://", state_dir=tmp_path, db_url="sqlite://"
    )
    client = await aiohttp_client(await command.build_app(settings, ["noaa", "open-meteo"], workers=1))
    body = await (await client.get("/health")).json()
    assert body["ok"] is True and body["model"]["sha256"] == "0x" + damage_model.model_sha256
