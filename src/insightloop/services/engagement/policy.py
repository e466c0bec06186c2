"""The contact policy: quiet hours, frequency caps, opt-out channels, and each customer's
time zone (a ``timezone``/``tz`` column, else the country's zone, else UTC).

Defaults from the environment: no quiet hours (a shop turns them on with
``INSIGHTLOOP_QUIET_HOURS=21-8``: a campaign run at night then holds back everyone it is
night for, and sends to them on the next run); at most 2 messages per 7 days and 1 per 24
hours per customer and channel; every channel opt-in (no consent record = no consent).
Environment variables change them: ``INSIGHTLOOP_QUIET_HOURS=21-8`` (``off`` for none),
``INSIGHTLOOP_FREQUENCY_CAPS=2/7d,1/24h`` (``off`` for none), and
``INSIGHTLOOP_OPT_OUT_CHANNELS=webhook,outbox`` (channels where no record means consent; a
withdrawal still stops them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError

#: One zone per country (ISO 3166 alpha-2 code and the English names exports use, Online
#: Retail's included). Countries spanning several zones get their most populous one.
COUNTRY_ZONES: dict[str, str] = {
    "gb": "Europe/London", "united kingdom": "Europe/London", "uk": "Europe/London",
    "ie": "Europe/Dublin", "eire": "Europe/Dublin", "ireland": "Europe/Dublin",
    "fr": "Europe/Paris", "france": "Europe/Paris", "de": "Europe/Berlin",
    "germany": "Europe/Berlin", "es": "Europe/Madrid", "spain": "Europe/Madrid",
    "pt": "Europe/Lisbon", "portugal": "Europe/Lisbon", "it": "Europe/Rome",
    "italy": "Europe/Rome", "nl": "Europe/Amsterdam", "netherlands": "Europe/Amsterdam",
    "be": "Europe/Brussels", "belgium": "Europe/Brussels", "ch": "Europe/Zurich",
    "switzerland": "Europe/Zurich", "at": "Europe/Vienna", "austria": "Europe/Vienna",
    "se": "Europe/Stockholm", "sweden": "Europe/Stockholm", "no": "Europe/Oslo",
    "norway": "Europe/Oslo", "dk": "Europe/Copenhagen", "denmark": "Europe/Copenhagen",
    "fi": "Europe/Helsinki", "finland": "Europe/Helsinki", "pl": "Europe/Warsaw",
    "poland": "Europe/Warsaw", "cz": "Europe/Prague", "czech republic": "Europe/Prague",
    "gr": "Europe/Athens", "greece": "Europe/Athens", "cy": "Asia/Nicosia",
    "cyprus": "Asia/Nicosia", "mt": "Europe/Malta", "malta": "Europe/Malta",
    "is": "Atlantic/Reykjavik", "iceland": "Atlantic/Reykjavik", "lt": "Europe/Vilnius",
    "lithuania": "Europe/Vilnius", "lu": "Europe/Luxembourg", "luxembourg": "Europe/Luxembourg",
    "ru": "Europe/Moscow", "russia": "Europe/Moscow", "tr": "Europe/Istanbul",
    "turkey": "Europe/Istanbul", "il": "Asia/Jerusalem", "israel": "Asia/Jerusalem",
    "lb": "Asia/Beirut", "lebanon": "Asia/Beirut", "ae": "Asia/Dubai",
    "united arab emirates": "Asia/Dubai", "sa": "Asia/Riyadh", "saudi arabia": "Asia/Riyadh",
    "bh": "Asia/Bahrain", "bahrain": "Asia/Bahrain", "in": "Asia/Kolkata", "india": "Asia/Kolkata",
    "cn": "Asia/Shanghai", "china": "Asia/Shanghai", "hk": "Asia/Hong_Kong",
    "hong kong": "Asia/Hong_Kong", "jp": "Asia/Tokyo", "japan": "Asia/Tokyo",
    "kr": "Asia/Seoul", "south korea": "Asia/Seoul", "sg": "Asia/Singapore",
    "singapore": "Asia/Singapore", "au": "Australia/Sydney", "australia": "Australia/Sydney",
    "nz": "Pacific/Auckland", "new zealand": "Pacific/Auckland", "za": "Africa/Johannesburg",
    "rsa": "Africa/Johannesburg", "south africa": "Africa/Johannesburg",
    "us": "America/New_York", "usa": "America/New_York", "united states": "America/New_York",
    "ca": "America/Toronto", "canada": "America/Toronto", "br": "America/Sao_Paulo",
    "brazil": "America/Sao_Paulo", "mx": "America/Mexico_City", "mexico": "America/Mexico_City",
}

_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([hd])\s*$")
_HOURS = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` messages per customer and channel in any rolling ``window``."""

    limit: int
    window: timedelta


@dataclass(frozen=True)
class Policy:
    """Quiet hours as minutes after local midnight (``quiet_start == quiet_end``: none),
    frequency caps, and the channels where no consent record means consent."""

    quiet_start: int = 21 * 60
    quiet_end: int = 8 * 60
    caps: tuple[Cap, ...] = (Cap(2, timedelta(days=7)), Cap(1, timedelta(hours=24)))
    opt_out_channels: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Policy:
        environ = os.environ if env is None else env
        base = cls()
        quiet = environ.get("INSIGHTLOOP_QUIET_HOURS")
        caps = environ.get("INSIGHTLOOP_FREQUENCY_CAPS")
        opt_out = environ.get("INSIGHTLOOP_OPT_OUT_CHANNELS", "")
        # Quiet hours are opt-in: a run must not silently send nothing because it is night
        # somewhere (the dataclass default, 21:00-08:00, is what the setting turns on).
        start, end = parse_quiet(quiet) if quiet is not None else (0, 0)
        return cls(start, end, parse_caps(caps) if caps is not None else base.caps,
                   frozenset(c.strip().lower() for c in opt_out.split(",") if c.strip()))

    def quiet_at(self, minutes: np.ndarray) -> np.ndarray:
        """Which local times (minutes after midnight) fall in the quiet hours."""
        if self.quiet_start == self.quiet_end:
            return np.zeros(minutes.shape, dtype=bool)
        if self.quiet_start < self.quiet_end:
            return (minutes >= self.quiet_start) & (minutes < self.quiet_end)
        return (minutes >= self.quiet_start) | (minutes < self.quiet_end)


def parse_quiet(text: str) -> tuple[int, int]:
    """``"21-8"`` or ``"21:30-07:45"`` as minutes after midnight; ``"off"``: no quiet hours."""
    if text.strip().lower() in ("", "off", "none"):
        return 0, 0
    found = _HOURS.match(text)
    if found is None:
        raise ConfigError(f"INSIGHTLOOP_QUIET_HOURS {text[:40]!r} is not a range like 21-8 "
                          "or 21:30-07:45 (or off)")
    h1, m1, h2, m2 = (int(g or 0) for g in found.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ConfigError(f"INSIGHTLOOP_QUIET_HOURS {text!r}: hours run 0-23, minutes 0-59")
    return h1 * 60 + m1, h2 * 60 + m2


def parse_caps(text: str) -> tuple[Cap, ...]:
    """``"2/7d,1/24h"`` as caps; ``"off"``: none."""
    if text.strip().lower() in ("", "off", "none"):
        return ()
    caps = []
    for part in text.split(","):
        found = _CAP.match(part)
        if found is None or int(found.group(2)) == 0:
            raise ConfigError(f"INSIGHTLOOP_FREQUENCY_CAPS part {part.strip()[:40]!r} is not "
                              "like 2/7d or 1/24h (messages / window in days or hours)")
        n, unit = int(found.group(2)), found.group(3)
        caps.append(Cap(int(found.group(1)),
                        timedelta(days=n) if unit == "d" else timedelta(hours=n)))
    return tuple(caps)


def zone_names(tz: pd.Series | None, country: pd.Series | None, length: int) -> pd.Series:
    """Each customer's IANA zone: an explicit one when valid, else the country's, else UTC
    (decided once per distinct value, then spread over the customers)."""
    known = _zones()
    out = np.full(length, "UTC", dtype=object)
    if country is not None:
        codes, names = pd.factorize(country.reset_index(drop=True), use_na_sentinel=True)
        zones = np.array([COUNTRY_ZONES.get(str(n).strip().lower(), "UTC") for n in names]
                         + ["UTC"], dtype=object)
        out = zones[codes]  # code -1 (missing) takes the trailing "UTC"
    if tz is not None:
        codes, names = pd.factorize(tz.reset_index(drop=True), use_na_sentinel=True)
        given = np.array([str(n).strip() for n in names] + [""], dtype=object)
        valid = np.array([g in known for g in given], dtype=bool)
        out = np.where(valid[codes], given[codes], out)
    return pd.Series(out, dtype=object)


def local_minutes(now_utc: pd.Timestamp, zones: pd.Series) -> np.ndarray:
    """Minutes after local midnight at ``now_utc`` in each zone (one conversion per
    distinct zone, not per customer)."""
    offsets = {z: _local(now_utc, z) for z in pd.unique(zones)}
    return zones.map(offsets).to_numpy(dtype=np.int64)


def _local(now_utc: pd.Timestamp, zone: str) -> int:
    local = now_utc.tz_convert(ZoneInfo(zone))
    return int(local.hour * 60 + local.minute)


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        try:
            _ZONES.update(available_timezones())
        except ZoneInfoNotFoundError:  # pragma: no cover - no tz database at all
            _ZONES.add("UTC")
    return _ZONES
