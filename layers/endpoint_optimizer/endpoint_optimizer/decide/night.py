"""Park at night, restore in the morning: the owner's opt-in tag and whether the nights were quiet. Pure.

The tag `endpoint-optimizer:park-at-night` = `HH:MM-HH:MM` (park at the first time, restore at the second,
in the endpoint's `endpoint-optimizer:timezone`, UTC when untagged), every day; with a ` weekdays` suffix
both run Monday to Friday only, so a window across midnight keeps the endpoint parked from Friday's park to
Monday's restore. Night parking is proposed only when no invocation fell in a parked hour over the
look-back: a night with traffic would have failed someone (the night's own re-check refuses to park an
endpoint invoked in the last hour, but cannot bring one back that is needed at 02:00).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from endpoint_optimizer.decide.changes import Hourly

PARK_AT_NIGHT_TAG = "endpoint-optimizer:park-at-night"
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})(?:\s+(weekdays))?$")
WEEKDAYS = range(5)  # Monday..Friday (datetime.weekday)
HOURS_PER_WEEK = 7 * 24


@dataclass(frozen=True)
class NightWindow:
    park: time
    restore: time
    weekdays_only: bool = False

    def __str__(self) -> str:
        days = " weekdays" if self.weekdays_only else ""
        return f"{self.park:%H:%M}-{self.restore:%H:%M}{days}"

    def runs_on(self, day: date) -> bool:
        return not self.weekdays_only or day.weekday() in WEEKDAYS

    def cron(self, at: time) -> str:
        """An EventBridge Scheduler cron expression: cron(minutes hours day-of-month month day-of-week
        year), one of day-of-month / day-of-week being `?` ("Schedule types on EventBridge Scheduler",
        EventBridge Scheduler user guide, read 2026-12-01)."""
        days = "MON-FRI" if self.weekdays_only else "*"
        return f"cron({at.minute} {at.hour} ? * {days} *)"

    def parked_at(self, local: datetime) -> bool:
        """Whether the endpoint is parked at `local` (a naive or local wall-clock time): the last park or
        restore event before it was a park."""
        for back in range(8):  # the last event is at most a weekend and a day away
            day = local.date() - timedelta(days=back)
            if not self.runs_on(day):
                continue
            events = sorted(
                [
                    (datetime.combine(day, self.park), "park"),
                    (datetime.combine(day, self.restore), "restore"),
                ],
                reverse=True,
            )
            for moment, kind in events:
                if moment <= local.replace(tzinfo=None):
                    return kind == "park"
        return False

    def parked_in_hour(self, local_hour_start: datetime) -> bool:
        """Any minute of the hour starting at `local_hour_start` parked (at its start, or a park within it)."""
        naive = local_hour_start.replace(tzinfo=None)
        if self.parked_at(naive):
            return True
        park_today = datetime.combine(naive.date(), self.park)
        return self.runs_on(naive.date()) and naive <= park_today < naive + timedelta(hours=1)

    def parked_share(self) -> float:
        """The share of a week's hours the endpoint is parked (whole minutes, over one week)."""
        monday = datetime(2026, 11, 30, tzinfo=UTC)  # any Monday
        minutes = 7 * 24 * 60
        step = 15
        parked = sum(1 for m in range(0, minutes, step) if self.parked_at(monday + timedelta(minutes=m)))
        return parked / (minutes // step)


def parse_window(value: str) -> NightWindow | str:
    """The tag's window, or exactly what is wrong with the value."""
    text = value.strip()
    found = _WINDOW.match(text)
    if found is None:
        return (
            f"tag {PARK_AT_NIGHT_TAG}={value!r} is not HH:MM-HH:MM (optionally followed by ' weekdays'), "
            "e.g. 22:00-06:00"
        )
    park_h, park_m, restore_h, restore_m = (int(found[i]) for i in range(1, 5))
    for hour, minute in ((park_h, park_m), (restore_h, restore_m)):
        if hour > 23 or minute > 59:
            return f"tag {PARK_AT_NIGHT_TAG}={value!r}: {hour:02d}:{minute:02d} is not a time of day (00:00-23:59)"
    if (park_h, park_m) == (restore_h, restore_m):
        return f"tag {PARK_AT_NIGHT_TAG}={value!r}: park and restore are at the same time"
    return NightWindow(time(park_h, park_m), time(restore_h, restore_m), weekdays_only=bool(found[5]))


@dataclass(frozen=True)
class NightVerdict:
    """Whether night parking is proposed, and why in words (the finding's reason)."""

    proposed: bool
    reason: str
    window: NightWindow | None = None
    parked_share: float = 0.0  # of the week's hours
    nights_seen: int = 0
    blocked: bool = False  # the tag cannot be used as it is (malformed): nothing may be scheduled
    busy_nights: list[date] = field(default_factory=list)


def night_verdict(tags: dict[str, str], hourly: Hourly | None, zone: str) -> NightVerdict | None:
    """None when the endpoint did not opt in. Otherwise: proposed when no invocation fell in a parked hour
    (local time of `zone`) over the hours of `hourly`; not proposed with the nights and hours that had
    traffic; blocked when the tag value is malformed."""
    if PARK_AT_NIGHT_TAG not in tags:
        return None
    window = parse_window(tags[PARK_AT_NIGHT_TAG])
    if isinstance(window, str):
        return NightVerdict(False, window, blocked=True)
    if hourly is None or not hourly.values:
        return NightVerdict(
            False, f"night parking {window} ({zone}) not proposed: no hourly traffic to judge the nights"
        )
    tz = ZoneInfo(zone)
    busy: dict[date, list[int]] = {}
    nights: set[date] = set()
    for index, value in enumerate(hourly.values):
        local = hourly.moment(index).astimezone(tz)
        if not window.parked_in_hour(local):
            continue
        # A night is named by the day its park began (02:00 on the 29th belongs to the night of the 28th).
        night = local.date() if local.time() >= window.park else local.date() - timedelta(days=1)
        nights.add(night)
        if value > 0:
            busy.setdefault(night, []).append(local.hour)
    share = window.parked_share()
    if busy:
        hours = sorted({hour for found in busy.values() for hour in found})
        shown = ", ".join(f"{hour:02d}:00" for hour in hours[:4]) + (" ..." if len(hours) > 4 else "")
        return NightVerdict(
            False,
            f"night parking {window} ({zone}) not proposed: traffic at {shown} on {len(busy)} of "
            f"{len(nights)} nights (last {max(busy).isoformat()})",
            window=window,
            nights_seen=len(nights),
            busy_nights=sorted(busy),
        )
    if not nights:
        return NightVerdict(
            False, f"night parking {window} ({zone}) not proposed: no night in the window yet"
        )
    return NightVerdict(
        True,
        f"night parking {window} ({zone}): no invocation in the parked hours of {len(nights)} nights; "
        f"parked {share:.0%} of the week",
        window=window,
        parked_share=share,
        nights_seen=len(nights),
    )
