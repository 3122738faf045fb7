"""NOAA NCEI Storm Events bulk files: a pure pandas parse step and a query for events near an incident."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from oracle.domain import Peril
from oracle.sources.records import EARTH_RADIUS_KM, SourceError, WeatherRecord, micro_degrees, to_epoch

SOURCE_NAME = "noaa-storm-events"
DETAILS_GLOB = "StormEvents_details-ftp_v1.0_d*_c*.csv.gz"
LOCATIONS_GLOB = "StormEvents_locations-ftp_v1.0_d*_c*.csv.gz"

# Which Storm Events EVENT_TYPE values count as evidence for each peril bit (see oracle.assess.constants.Peril).
EVENT_TYPES_BY_PERIL: dict[int, frozenset[str]] = {
    Peril.HAIL: frozenset({"Hail"}),
    Peril.FLOOD: frozenset(
        {"Flood", "Flash Flood", "Coastal Flood", "Lakeshore Flood", "Heavy Rain", "Storm Surge/Tide", "Debris Flow"}
    ),
    Peril.WIND: frozenset(
        {
            "Thunderstorm Wind",
            "High Wind",
            "Strong Wind",
            "Tornado",
            "Hurricane (Typhoon)",
            "Hurricane",
            "Tropical Storm",
            "Tropical Depression",
            "Winter Storm",
            "Ice Storm",
            "Blizzard",
        }
    ),
    Peril.FIRE: frozenset({"Wildfire", "Lightning"}),
}
WIND_MAGNITUDE_TYPES = frozenset({"EG", "MG", "ES", "MS"})  # estimated/measured gust/sustained, knots

_DETAIL_COLUMNS = [
    "EVENT_ID",
    "EPISODE_ID",
    "EVENT_TYPE",
    "STATE",
    "STATE_FIPS",
    "CZ_TYPE",
    "CZ_FIPS",
    "CZ_NAME",
    "CZ_TIMEZONE",
    "BEGIN_DATE_TIME",
    "END_DATE_TIME",
    "MAGNITUDE",
    "MAGNITUDE_TYPE",
    "DAMAGE_PROPERTY",
    "BEGIN_LAT",
    "BEGIN_LON",
    "END_LAT",
    "END_LON",
]
_TZ = re.compile(r"^[A-Z]{2,5}([+-]?\d{1,2})$")
_CREATED = re.compile(r"_c(\d{4})(\d{2})(\d{2})\.csv")
_DAMAGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMBkmb]?)\s*$")
_DAMAGE_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}


def perils_for_event_type(event_type: str) -> int:
    """Return the mask of peril bits an EVENT_TYPE is evidence for (0 when none)."""
    mask = 0
    for bit, types in EVENT_TYPES_BY_PERIL.items():
        if event_type in types:
            mask |= bit
    return mask


def parse_damage_usd(text: object) -> int | None:
    """Turn a Storm Events damage string such as '10.00K' or '1.5M' into whole US dollars (None when blank)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    match = _DAMAGE.match(str(text))
    if not match:
        raise SourceError(f"{SOURCE_NAME}: damage value {text!r} is not a number with an optional K/M/B suffix")
    whole, _, frac = match.group(1).partition(".")
    scale = _DAMAGE_SCALE[match.group(2).upper()]
    # exact decimal arithmetic: '1.25K' -> 1250, never via floats
    return (int(whole) * scale) + (int(frac) * scale // 10 ** len(frac) if frac else 0)


def _utc_offset_hours(cz_timezone: str) -> int:
    match = _TZ.match(str(cz_timezone))
    if not match:
        raise SourceError(f"{SOURCE_NAME}: CZ_TIMEZONE {cz_timezone!r} is not like 'CST-6'")
    return int(match.group(1))


def _local_to_epoch(local: pd.Series, zones: pd.Series, column: str) -> npt.NDArray[np.int64]:
    parsed = pd.to_datetime(local, format="%d-%b-%y %H:%M:%S", errors="coerce")
    bad = parsed.isna() & local.notna()
    if bad.any():
        raise SourceError(f"{SOURCE_NAME}: {column} {local[bad].iloc[0]!r} is not like '09-MAR-19 08:10:00'")
    offsets = zones.map({z: _utc_offset_hours(z) for z in zones.unique()}).astype("int64")
    # Times are local standard time of the zone: UTC = local - offset (offset -6 for CST).
    seconds = parsed.astype("datetime64[s]").astype("int64")
    epochs: npt.NDArray[np.int64] = (seconds - offsets * 3600).to_numpy(dtype="int64")
    return epochs


def as_of_from_name(name: str) -> str:
    """Return the creation date NCEI puts in a bulk file's name ('..._c20190617.csv.gz' -> '2019-06-17')."""
    match = _CREATED.search(name)
    return f"{match.group(1)}-{match.group(2)}-{match.group(3)}" if match else ""


def parse_details(raw: pd.DataFrame, *, as_of: str = "") -> pd.DataFrame:
    """Normalise a raw Storm Events details (or claims-relevant) table: UTC epoch times, perils, damage in USD."""
    missing = [c for c in _DETAIL_COLUMNS if c not in raw.columns and c != "EPISODE_ID"]
    if missing:
        raise SourceError(f"{SOURCE_NAME}: table lacks columns {missing}")
    frame = pd.DataFrame(
        {
            "event_id": raw["EVENT_ID"].astype("int64"),
            "event_type": raw["EVENT_TYPE"].astype(str),
            "state": raw["STATE"].astype(str),
            "state_fips": raw["STATE_FIPS"].astype("int64"),
            "cz_type": raw["CZ_TYPE"].astype(str),
            "cz_fips": raw["CZ_FIPS"].astype("int64"),
            "cz_name": raw["CZ_NAME"].astype(str),
            "begin": _local_to_epoch(raw["BEGIN_DATE_TIME"], raw["CZ_TIMEZONE"], "BEGIN_DATE_TIME"),
            "end": _local_to_epoch(raw["END_DATE_TIME"], raw["CZ_TIMEZONE"], "END_DATE_TIME"),
            "magnitude": raw["MAGNITUDE"].map(_magnitude_text),
            "magnitude_type": raw["MAGNITUDE_TYPE"].where(raw["MAGNITUDE_TYPE"].notna(), None),
            "damage_property_usd": raw["DAMAGE_PROPERTY"].map(parse_damage_usd).astype("Int64"),
            "begin_lat": pd.to_numeric(raw["BEGIN_LAT"], errors="coerce"),
            "begin_lon": pd.to_numeric(raw["BEGIN_LON"], errors="coerce"),
            "end_lat": pd.to_numeric(raw["END_LAT"], errors="coerce"),
            "end_lon": pd.to_numeric(raw["END_LON"], errors="coerce"),
        }
    )
    frame["perils"] = frame["event_type"].map(perils_for_event_type).astype("int64")
    frame["as_of"] = as_of
    return frame.drop_duplicates("event_id").set_index("event_id", drop=False).sort_index()


def _magnitude_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    # keep the file's decimal text but normalise to two places, as NCEI publishes it ('52' -> '52.00')
    whole, _, frac = text.partition(".")
    return f"{int(whole)}.{(frac + '00')[:2]}"


def parse_locations(raw: pd.DataFrame) -> pd.DataFrame:
    """Normalise a raw Storm Events locations table to (event_id, lat, lon) points."""
    for column in ("EVENT_ID", "LATITUDE", "LONGITUDE"):
        if column not in raw.columns:
            raise SourceError(f"{SOURCE_NAME}: locations table lacks column {column}")
    points = pd.DataFrame(
        {
            "event_id": raw["EVENT_ID"].astype("int64"),
            "lat": pd.to_numeric(raw["LATITUDE"], errors="coerce"),
            "lon": pd.to_numeric(raw["LONGITUDE"], errors="coerce"),
        }
    )
    return points.dropna()


def _event_points(details: pd.DataFrame, locations: pd.DataFrame | None) -> pd.DataFrame:
    parts = [
        details[["event_id", "begin_lat", "begin_lon"]].set_axis(["event_id", "lat", "lon"], axis=1),
        details[["event_id", "end_lat", "end_lon"]].set_axis(["event_id", "lat", "lon"], axis=1),
    ]
    if locations is not None:
        parts.append(locations[locations["event_id"].isin(details.index)])
    points = pd.concat(parts, ignore_index=True).dropna()
    points = points[(points["lat"].abs() <= 90) & (points["lon"].abs() <= 180)]
    return points.drop_duplicates().reset_index(drop=True)


def _fips(value: str | int | None, what: str) -> tuple[int, int] | None:
    if value is None:
        return None
    text = f"{value:05d}" if isinstance(value, int) else str(value).strip()
    if len(text) != 5 or not text.isdigit():
        raise ValueError(f"{what} must be 5 digits (2 state + 3 county/zone), got {value!r}")
    return int(text[:2]), int(text[2:])


@dataclass(frozen=True)
class StormEvents:
    """Parsed Storm Events with a point table for distance queries; build with load_storm_events()."""

    details: pd.DataFrame
    points: pd.DataFrame

    @classmethod
    def from_frames(cls, details: pd.DataFrame, locations: pd.DataFrame | None = None) -> StormEvents:
        """Build the queryable table from parsed details and (optionally) parsed locations."""
        return cls(details=details, points=_event_points(details, locations))

    def __len__(self) -> int:
        return len(self.details)

    def events_near(
        self,
        peril: int,
        lat: float,
        lon: float,
        when: datetime | int,
        radius_km: float,
        window_hours: float,
        *,
        county_fips: str | int | None = None,
        zone_fips: str | int | None = None,
    ) -> list[WeatherRecord]:
        """Events of the claimed peril within radius_km (any begin/end/path point) and ±window_hours of when.

        Events without coordinates match when their county (CZ_TYPE C) or forecast zone (CZ_TYPE Z) is the
        incident's, given as 5-digit state+county / state+zone FIPS.
        """
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"incident position ({lat}, {lon}) is not a valid latitude/longitude")
        if radius_km < 0 or window_hours < 0:
            raise ValueError(f"radius_km and window_hours must be >= 0, got {radius_km} and {window_hours}")
        t = to_epoch(when)
        window = int(round(window_hours * 3600))
        d = self.details
        candidates = d[((d["perils"] & int(peril)) != 0) & (d["begin"] <= t + window) & (d["end"] >= t - window)]
        if candidates.empty:
            return []
        points = self.points[self.points["event_id"].isin(candidates.index)]
        lat_r, lon_r = np.radians(points["lat"].to_numpy()), np.radians(points["lon"].to_numpy())
        qlat, qlon = np.radians(lat), np.radians(lon)
        a = np.sin((lat_r - qlat) / 2) ** 2 + np.cos(qlat) * np.cos(lat_r) * np.sin((lon_r - qlon) / 2) ** 2
        dist_km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
        nearest = pd.Series(dist_km, index=points["event_id"].to_numpy()).groupby(level=0).min()
        records: list[WeatherRecord] = []
        for event_id, distance in nearest[nearest <= radius_km].items():
            records.append(self._record(candidates.loc[event_id], "radius", distance))
        located = set(nearest.index)
        for key, cz_type in ((_fips(county_fips, "county_fips"), "C"), (_fips(zone_fips, "zone_fips"), "Z")):
            if key is None:
                continue
            same = candidates[
                (candidates["cz_type"] == cz_type)
                & (candidates["state_fips"] == key[0])
                & (candidates["cz_fips"] == key[1])
                & ~candidates.index.isin(located)
            ]
            match = "county" if cz_type == "C" else "zone"
            records.extend(self._record(row, match, None) for _, row in same.iterrows())
        return sorted(records, key=lambda r: (r.distance_m is None, r.distance_m or 0, r.begin, r.record_id))

    @staticmethod
    def _record(row: pd.Series, match: str, distance_km: float | None) -> WeatherRecord:
        magnitude = row["magnitude"]
        mtype = row["magnitude_type"]
        if magnitude is None:
            unit = None
        elif row["event_type"] == "Hail":
            unit = "in"
        elif mtype in WIND_MAGNITUDE_TYPES:
            unit = f"kt ({mtype})"
        else:
            unit = str(mtype) if mtype else None
        has_pos = pd.notna(row["begin_lat"]) and pd.notna(row["begin_lon"])
        damage = row["damage_property_usd"]
        details = [
            ("state", row["state"]),
            ("cz", f"{row['cz_type']}{int(row['state_fips']):02d}{int(row['cz_fips']):03d} {row['cz_name']}"),
        ]
        if pd.notna(damage):
            details.append(("damagePropertyUsd", str(int(damage))))
        return WeatherRecord(
            source=SOURCE_NAME,
            record_id=str(int(row["event_id"])),
            event_type=row["event_type"],
            perils=int(row["perils"]),
            begin=int(row["begin"]),
            end=int(row["end"]),
            match=match,
            distance_m=None if distance_km is None else int(round(distance_km * 1000)),
            lat_e6=micro_degrees(row["begin_lat"]) if has_pos else None,
            lon_e6=micro_degrees(row["begin_lon"]) if has_pos else None,
            magnitude=magnitude,
            magnitude_unit=unit,
            as_of=row["as_of"],
            details=tuple(details),
        )


# ---------------------------------------------------------------- the thin I/O edge: reading the bulk files


def read_details(path: Path) -> pd.DataFrame:
    """Read and parse one Storm Events details file (or the claims-relevant CSV)."""
    try:
        raw = pd.read_csv(path, usecols=lambda c: c in _DETAIL_COLUMNS, dtype={"MAGNITUDE": str}, low_memory=False)
    except (OSError, ValueError) as exc:
        raise SourceError(f"{SOURCE_NAME}: cannot read {path}: {exc}") from None
    return parse_details(raw, as_of=as_of_from_name(path.name))


def read_locations(path: Path) -> pd.DataFrame:
    """Read and parse one Storm Events locations file."""
    try:
        raw = pd.read_csv(path, usecols=["EVENT_ID", "LATITUDE", "LONGITUDE"])
    except (OSError, ValueError) as exc:
        raise SourceError(f"{SOURCE_NAME}: cannot read {path}: {exc}") from None
    return parse_locations(raw)


_Stamp = tuple[tuple[str, int, int], ...]  # (resolved path, mtime ns, size) of each file


def _stamp(paths: list[Path]) -> _Stamp:
    return tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


@functools.lru_cache(maxsize=4)
def _load(details_stamp: _Stamp, locations_stamp: _Stamp) -> StormEvents:
    details = pd.concat([read_details(Path(p)) for p, _, _ in details_stamp])
    details = details[~details.index.duplicated(keep="last")].sort_index()
    locations = pd.concat([read_locations(Path(p)) for p, _, _ in locations_stamp]) if locations_stamp else None
    return StormEvents.from_frames(details, locations)


def load_storm_events(tables_dir: Path | str) -> StormEvents:
    """Load every details and locations bulk file in a directory, parsed once and cached while unchanged."""
    tables_dir = Path(tables_dir)
    details = sorted(tables_dir.glob(DETAILS_GLOB))
    if not details:
        raise SourceError(f"{SOURCE_NAME}: no {DETAILS_GLOB} files in {tables_dir}")
    return _load(_stamp(details), _stamp(sorted(tables_dir.glob(LOCATIONS_GLOB))))


def load_claims_relevant(path: Path | str) -> StormEvents:
    """Load the pre-filtered claims-relevant CSV (no path points: begin/end coordinates only)."""
    path = Path(path)
    return _load(_stamp([path]), ())
