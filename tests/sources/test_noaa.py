"""Tests for the NOAA Storm Events source, on the real 2019 Q1 bulk files."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from oracle.domain import Peril
from oracle.sources.noaa import (
    EVENT_TYPES_BY_PERIL,
    StormEvents,
    load_claims_relevant,
    load_storm_events,
    parse_damage_usd,
    parse_details,
)
from oracle.sources.records import SourceError

CALHOUN = (30.50, -85.30)
HAIL_MORNING = datetime(2019, 3, 2, 11, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def events(tables_dir) -> StormEvents:
    return load_storm_events(tables_dir)


def test_load_storm_events__real_files__all_events_and_cached(tables_dir):
    first = load_storm_events(tables_dir)
    second = load_storm_events(tables_dir)
    assert second is first  # served from the cache, not re-parsed
    assert len(first) == 15_447
    assert (first.details["event_type"] == "Hail").sum() == 573


def test_parse_details__cst_local_time__converts_to_utc(events):
    row = events.details.loc[808462]  # "02-MAR-19 04:20:00", CST-6
    assert row["begin"] == int(datetime(2019, 3, 2, 10, 20, tzinfo=UTC).timestamp())
    assert row["magnitude"] == "1.75"


def test_events_near__hail_in_calhoun_that_morning__finds_nearest_first(events):
    records = events.events_near(Peril.HAIL, *CALHOUN, HAIL_MORNING, radius_km=25, window_hours=6)
    ids = [r.record_id for r in records]
    assert ids[:3] == ["808462", "808464", "808466"]
    first = records[0]
    assert first.event_type == "Hail" and first.match == "radius"
    assert 1_000 < first.distance_m < 2_000  # 30.51,-85.31 is about 1.5 km from 30.50,-85.30
    assert first.magnitude == "1.75" and first.magnitude_unit == "in"
    assert first.as_of == "2019-06-17"
    assert all(r.distance_m <= 25_000 for r in records)
    assert [r.distance_m for r in records] == sorted(r.distance_m for r in records)


def test_events_near__same_place_a_week_later__finds_nothing(events):
    later = datetime(2019, 3, 9, 11, 0, tzinfo=UTC)
    assert events.events_near(Peril.HAIL, *CALHOUN, later, radius_km=25, window_hours=6) == []


def test_events_near__other_peril_at_hail_place__does_not_match_hail(events):
    found = events.events_near(Peril.FLOOD, *CALHOUN, HAIL_MORNING, radius_km=25, window_hours=6)
    assert all(r.event_type in EVENT_TYPES_BY_PERIL[Peril.FLOOD] for r in found)
    assert not any(r.event_type == "Hail" for r in found)
    assert events.events_near(Peril.COLLISION, *CALHOUN, HAIL_MORNING, radius_km=500, window_hours=48) == []


def test_events_near__radius_too_small__excludes_farther_events(events):
    records = events.events_near(Peril.HAIL, *CALHOUN, HAIL_MORNING, radius_km=5, window_hours=6)
    assert [r.record_id for r in records] == ["808462"]


def test_events_near__zone_event_without_coordinates__matches_by_zone_fips(events):
    d = events.details
    zone = d[(d["cz_type"] == "Z") & d["begin_lat"].isna() & (d["event_type"] == "High Wind")].iloc[0]
    fips = f"{int(zone['state_fips']):02d}{int(zone['cz_fips']):03d}"
    when = int(zone["begin"])
    far_away = (0.0, 0.0)
    assert events.events_near(Peril.WIND, *far_away, when, radius_km=25, window_hours=3) == []
    found = events.events_near(Peril.WIND, *far_away, when, radius_km=25, window_hours=3, zone_fips=fips)
    assert str(int(zone["event_id"])) in [r.record_id for r in found]
    assert all(r.match == "zone" and r.distance_m is None for r in found)


def test_events_near__county_event_without_coordinates__matches_by_county_fips(events):
    d = events.details
    county = d[(d["cz_type"] == "C") & d["begin_lat"].isna()].iloc[0]
    fips = f"{int(county['state_fips']):02d}{int(county['cz_fips']):03d}"
    when = int(county["begin"])
    assert events.events_near(Peril.WIND, 0.0, 0.0, when, radius_km=1, window_hours=1) == []
    found = events.events_near(Peril.WIND, 0.0, 0.0, when, radius_km=1, window_hours=1, county_fips=fips)
    assert [(r.record_id, r.match, r.distance_m) for r in found] == [(str(int(county["event_id"])), "county", None)]


def test_events_near__county_fips_for_located_events__still_requires_radius(events):
    # the Calhoun hail reports have coordinates, so the county join does not pull them in from far away
    found = events.events_near(Peril.HAIL, 0.0, 0.0, HAIL_MORNING, radius_km=1, window_hours=6, county_fips="12013")
    assert found == []


@pytest.mark.parametrize("fips", ["1201", "12O13", 123456])
def test_events_near__malformed_fips__raises(events, fips):
    with pytest.raises(ValueError, match="5 digits"):
        events.events_near(Peril.HAIL, *CALHOUN, HAIL_MORNING, 25, 6, county_fips=fips)


def test_events_near__naive_time_or_bad_position__raises(events):
    with pytest.raises(ValueError, match="no timezone"):
        events.events_near(Peril.HAIL, *CALHOUN, datetime(2019, 3, 2, 11), 25, 6)
    with pytest.raises(ValueError, match="latitude"):
        events.events_near(Peril.HAIL, 95.0, 0.0, HAIL_MORNING, 25, 6)


def test_parse_damage_usd__suffixes__exact_dollars():
    assert parse_damage_usd("10.00K") == 10_000
    assert parse_damage_usd("1.25M") == 1_250_000
    assert parse_damage_usd("0.00K") == 0
    assert parse_damage_usd(None) is None
    with pytest.raises(SourceError, match="'12Q'"):
        parse_damage_usd("12Q")


def test_parse_damage_usd__real_file__agrees_with_claims_relevant_column(tables_dir):
    relevant = pd.read_csv(tables_dir / "noaa_storm_events_2019Q1_claims_relevant.csv")
    sample = relevant.dropna(subset=["DAMAGE_PROPERTY"]).head(500)
    ours = sample["DAMAGE_PROPERTY"].map(parse_damage_usd)
    assert (ours == sample["DAMAGE_PROPERTY_USD"].astype("int64")).all()


def test_load_claims_relevant__same_hail_query__same_events_as_bulk_files(events, tables_dir):
    relevant = load_claims_relevant(tables_dir / "noaa_storm_events_2019Q1_claims_relevant.csv")
    assert len(relevant) == 8_267
    bulk = events.events_near(Peril.HAIL, *CALHOUN, HAIL_MORNING, 25, 6)
    filtered = relevant.events_near(Peril.HAIL, *CALHOUN, HAIL_MORNING, 25, 6)
    key = lambda r: (r.record_id, r.begin, r.distance_m)  # noqa: E731
    assert [key(r) for r in filtered] == [key(r) for r in bulk]


def test_parse_details__missing_column__raises_naming_it():
    with pytest.raises(SourceError, match="CZ_TIMEZONE"):
        parse_details(pd.DataFrame({"EVENT_ID": [1]}))


def test_load_storm_events__empty_directory__raises(tmp_path):
    with pytest.raises(SourceError, match="no StormEvents_details"):
        load_storm_events(tmp_path)
