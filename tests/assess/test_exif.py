"""Tests for reading capture time and GPS from photo EXIF."""

from __future__ import annotations

from datetime import UTC, datetime

from oracle.assess.exif import read_exif
from tests.factories import exif_with, make_jpeg


def test_read_exif__time_with_offset_and_gps__utc_epoch_and_micro_degrees():
    data = make_jpeg(1, exif=exif_with("2019:03:02 04:00:00", "-06:00", (30.51, -85.3)))
    exif = read_exif(data)
    assert exif.taken_at == int(datetime(2019, 3, 2, 10, 0, tzinfo=UTC).timestamp())
    assert exif.taken_at_has_offset
    assert abs(exif.lat_e6 - 30_510_000) <= 1 and abs(exif.lon_e6 + 85_300_000) <= 1


def test_read_exif__time_without_offset__read_as_utc_and_flagged():
    exif = read_exif(make_jpeg(1, exif=exif_with("2019:03:02 04:00:00")))
    assert exif.taken_at == int(datetime(2019, 3, 2, 4, 0, tzinfo=UTC).timestamp())
    assert not exif.taken_at_has_offset
    assert exif.lat_e6 is None


def test_read_exif__no_exif_or_garbage__all_none():
    empty = {"takenAt": None, "takenAtHasOffset": False, "latE6": None, "lonE6": None}
    assert read_exif(make_jpeg(1)).to_doc() == empty
    assert read_exif(b"not an image").taken_at is None


def test_read_exif__malformed_date__ignored():
    assert read_exif(make_jpeg(1, exif=exif_with("yesterday"))).taken_at is None
