"""Photo EXIF facts the fraud checks use: when (DateTimeOriginal) and where (GPS) a photo says it was taken."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import SupportsFloat, SupportsIndex

from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class PhotoExif:
    """What a photo's EXIF says: taken_at in epoch seconds (UTC if the offset is known) and GPS micro-degrees."""

    taken_at: int | None = None
    taken_at_has_offset: bool = False
    lat_e6: int | None = None
    lon_e6: int | None = None
    sealed: str | None = None  # 0x-hex of the facts sealed with the claim's key, when its evidence is sealed

    def to_doc(self) -> dict[str, int | bool | str | None]:
        """Return the facts as a canonical-JSON-ready dict (only the sealed form when they are sealed)."""
        if self.sealed is not None:
            return {"sealed": self.sealed}
        return {
            "takenAt": self.taken_at,
            "takenAtHasOffset": self.taken_at_has_offset,
            "latE6": self.lat_e6,
            "lonE6": self.lon_e6,
        }


def _ratio(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        return float(num) / float(den) if den else float("nan")
    if isinstance(value, (str, bytes, bytearray, SupportsFloat, SupportsIndex)):
        return float(value)  # IFDRational and plain numbers
    raise TypeError(f"not a number: {value!r}")


def _dms(values: object, ref: object, positive: str) -> float | None:
    if not isinstance(values, Iterable):
        return None
    try:
        d, m, s = (_ratio(v) for v in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if degrees != degrees:  # NaN from a zero denominator
        return None
    ref_text = ref.decode("ascii", "replace") if isinstance(ref, bytes) else str(ref or positive)
    return degrees if ref_text.strip().upper().startswith(positive) else -degrees


def read_exif(data: bytes) -> PhotoExif:
    """Read DateTimeOriginal (with OffsetTimeOriginal) and GPS position; unreadable or absent fields are None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            sub = exif.get_ifd(EXIF_IFD)
            gps = exif.get_ifd(GPS_IFD)
    except Exception:  # a photo without readable EXIF is normal, not an error
        return PhotoExif()
    taken_at, has_offset = None, False
    text = sub.get(DATETIME_ORIGINAL)
    if isinstance(text, str):
        try:
            local = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            local = None
        if local is not None:
            tz = UTC
            offset = _OFFSET.match(str(sub.get(OFFSET_TIME_ORIGINAL, "")).strip("\x00 "))
            if offset:
                sign = 1 if offset.group(1) == "+" else -1
                tz = timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
                has_offset = True
            taken_at = int(local.replace(tzinfo=tz).timestamp())
    lat_e6 = lon_e6 = None
    if GPS_LAT in gps and GPS_LON in gps:
        lat = _dms(gps[GPS_LAT], gps.get(GPS_LAT_REF), "N")
        lon = _dms(gps[GPS_LON], gps.get(GPS_LON_REF), "E")
        if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            lat_e6, lon_e6 = int(round(lat * 1_000_000)), int(round(lon * 1_000_000))
    return PhotoExif(taken_at=taken_at, taken_at_has_offset=has_offset, lat_e6=lat_e6, lon_e6=lon_e6)
