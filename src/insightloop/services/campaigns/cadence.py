"""When a schedule is due: ``at`` one time, ``every`` an interval (``15m``, ``6h``, ``2d``)
or a daily time in a zone (``daily 09:00 Europe/London``). Times are naive UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from insightloop.errors import ConfigError

_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_DAILY = re.compile(r"^\s*daily\s+(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*$", re.IGNORECASE)
_UNIT = {"m": 60, "h": 3600, "d": 86400}
#: the oldest time a recurring schedule counts from (its occurrences are aligned to it)
EPOCH = datetime(2000, 1, 1)


def parse_at(text: str) -> datetime:
    """An ISO time (an offset, else UTC) as naive UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--at {text!r} is not an ISO time; give e.g. "
                          "2026-12-05T09:00 (UTC) or 2026-12-05T09:00+01:00") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def check_every(text: str) -> str:
    """``text`` normalised (``6h``, ``daily 09:00 Europe/London``), or a ConfigError."""
    found = _INTERVAL.match(text)
    if found:
        if int(found.group(1)) < 1:
            raise ConfigError(f"--every {text!r}: the interval must be at least 1")
        return f"{int(found.group(1))}{found.group(2)}"
    daily = _DAILY.match(text)
    if daily is None:
        raise ConfigError(f"--every {text!r} is not an interval (15m, 6h, 1d) or a daily "
                          "time ('daily 09:00 Europe/London')")
    hour, minute, zone = int(daily.group(1)), int(daily.group(2)), daily.group(3) or "UTC"
    if hour > 23 or minute > 59:
        raise ConfigError(f"--every {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--every {text!r}: unknown time zone {zone!r}; give an IANA name "
                          "such as Europe/London") from None
    return f"daily {hour:02d}:{minute:02d} {zone}"


def latest_due(cron: str, start: datetime, now: datetime) -> datetime | None:
    """The latest due time of ``cron`` (``at ...`` or an ``every`` form) in
    [``start``, ``now``]: missed due times collapse into the latest one."""
    if cron.startswith("at "):
        when = parse_at(cron[3:])
        return when if start <= when <= now else None
    nxt = next_due(cron, start - timedelta(microseconds=1))
    if nxt is None or nxt > now:
        return None
    found = _INTERVAL.match(cron)
    if found:
        step = timedelta(seconds=int(found.group(1)) * _UNIT[found.group(2)])
        return nxt + step * ((now - nxt) // step)
    last = nxt
    while True:  # at most one per day since ``start``: a few iterations
        later = next_due(cron, last)
        if later is None or later > now:
            return last
        last = later


def next_due(cron: str, after: datetime) -> datetime | None:
    """The first due time of ``cron`` strictly after ``after``; None when there is none."""
    if cron.startswith("at "):
        when = parse_at(cron[3:])
        return when if when > after else None
    found = _INTERVAL.match(cron)
    if found:
        step = timedelta(seconds=int(found.group(1)) * _UNIT[found.group(2)])
        return EPOCH + step * ((after - EPOCH) // step + 1)
    daily = _DAILY.match(cron)
    if daily is None:
        raise ConfigError(f"schedule {cron!r} is not understood; delete and create it again")
    zone = ZoneInfo(daily.group(3) or "UTC")
    local = after.replace(tzinfo=UTC).astimezone(zone)
    for days in (0, 1, 2):
        day = (local + timedelta(days=days)).date()
        when = datetime(day.year, day.month, day.day, int(daily.group(1)),
                        int(daily.group(2)), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        if when > after:
            return when
    return None
