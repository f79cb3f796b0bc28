"""What changed inside the window: traffic that started, stopped, moved or grows, and utilisation that
rises (`changes_of`), and whether the window is long enough to name a pattern (`window_too_short`).

Fourteen days summarised into shares read a change of regime as a pattern, so the recent part of the
window is compared with the rest before any rung runs (the thresholds: decide/thresholds.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from endpoint_optimizer.decide.signals import Reading, Traffic, signal_units
from endpoint_optimizer.decide.thresholds import (
    CHANGE_CHANCE,
    CHANGE_FACTOR,
    CYCLE_DAYS,
    HOURS_PER_WEEK,
    LEVEL_BLOCK_HOURS,
    LEVEL_MIN_HOURS,
    NEW_PATTERN_DAYS,
    PERIODIC_CYCLES,
    RAMP_GROWTH,
    RAMP_MIN_DAYS,
    RAMP_MIN_HOURS,
    START_MIN_HOURS,
    START_QUIET_HOURS,
    UTILISATION_CHANGE_FLOOR,
)
from endpoint_optimizer.models import Variant, VariantMetrics


def _hour(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Hourly:
    """Invocations per hour over the part of the window the endpoint existed for (the window, or since it
    was created), summed over its variants and inference components."""

    values: list[float]
    start: datetime  # when values[0] began
    offset: int  # the window hour of values[0]

    def moment(self, index: int) -> datetime:
        return self.start + timedelta(hours=index)


def hourly_of(metrics: list[VariantMetrics], lifetime_hours: int) -> Hourly | None:
    window = max((item.window_hours for item in metrics), default=0)
    window_start = next((item.window_start for item in metrics if item.window_start is not None), None)
    if not window or window_start is None:
        return None
    span = max(1, min(window, lifetime_hours))
    offset = window - span
    values = [0.0] * span
    for item in metrics:
        for hour, value in item.invocations_by_hour:
            if offset <= hour < window:
                values[hour - offset] += value
    return Hourly(values, window_start + timedelta(hours=offset), offset)


@dataclass(frozen=True)
class Change:
    """A change of regime inside the window: what changed, when, and what the ladder waits for."""

    kind: str  # started | stopped | rose | fell | growing | utilisation rising
    first_hour: int  # index in `Hourly.values` where the new pattern begins
    what: str  # what changed and when, in numbers
    wait: str  # what judging it waits for
    hold: bool  # True: no capacity-reducing rung runs; False: the new pattern is judged on itself
    at: datetime

    @property
    def reason(self) -> str:
        return f"{self.what}; {self.wait}"


def _binomial_tail(successes: int, trials: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, p), summed in log space (trials can be thousands)."""
    if successes <= 0 or p >= 1:
        return 1.0
    if p <= 0 or successes > trials:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    head = math.lgamma(trials + 1)
    return min(
        1.0,
        sum(
            math.exp(
                head - math.lgamma(x + 1) - math.lgamma(trials - x + 1) + x * log_p + (trials - x) * log_q
            )
            for x in range(successes, trials + 1)
        ),
    )


def _started(values: list[float]) -> tuple[int, int] | None:
    """The onset of traffic after a quiet stretch, and that stretch's length: quiet for START_QUIET_HOURS
    or more and longer than any pause since, traffic in START_MIN_HOURS hours or more since, in at least
    CHANGE_FACTOR times the share of hours before it, no accident (the hours with traffic bunch after it
    beyond CHANGE_CHANCE, or it follows a quiet week CHANGE_FACTOR times longer than any pause since), and
    (when it is under a week old) in CHANGE_FACTOR times the hours the same hours had one week earlier. The longest such quiet wins (a weekend inside new business-hours traffic is not
    its start)."""
    n = len(values)
    active = [index for index, value in enumerate(values) if value > 0]
    best: tuple[int, int] | None = None
    longest_pause_since = 0
    for position in range(len(active) - 1, -1, -1):
        onset = active[position]
        quiet = onset - (active[position - 1] if position else -1) - 1
        since = len(active) - position
        if (
            quiet >= START_QUIET_HOURS
            and quiet > longest_pause_since
            and since >= START_MIN_HOURS
            and (best is None or quiet > best[1])
            and position / onset * CHANGE_FACTOR <= since / (n - onset)  # share of hours before vs since
            and (
                # the hours with traffic bunch after the onset, or a new rhythm follows a quiet week
                _binomial_tail(since, len(active), (n - onset) / n) <= CHANGE_CHANCE
                or (quiet >= NEW_PATTERN_DAYS * 24 and quiet >= CHANGE_FACTOR * longest_pause_since)
            )
        ):
            recent = n - onset < HOURS_PER_WEEK
            week_earlier = sum(
                1 for hour in range(max(onset, HOURS_PER_WEEK), n) if values[hour - HOURS_PER_WEEK] > 0
            )
            if not recent or week_earlier * CHANGE_FACTOR <= since:
                best = (onset, quiet)
        longest_pause_since = max(longest_pause_since, quiet)
    return best


def _stopped(values: list[float]) -> tuple[int, int] | None:
    """The first hour of the silence that ends the window, and how many of its hours had traffic at the
    same hour of the week before it began: a stop when so many that chance is ruled out (CHANGE_CHANCE)."""
    n = len(values)
    last = next((index for index in range(n - 1, -1, -1) if values[index] > 0), None)
    if last is None or last == n - 1:
        return None
    begin = last + 1
    seen = 0
    for hour in range(begin, n):
        back = hour - HOURS_PER_WEEK * math.ceil((hour - begin + 1) / HOURS_PER_WEEK)
        seen += back >= 0 and values[back] > 0
    return (begin, seen) if 0.5**seen <= CHANGE_CHANCE else None


def _moved(values: list[float]) -> tuple[int, float, float] | None:
    """The hour a level moved by CHANGE_FACTOR or more against the same hours one week earlier, with the
    median hour since and a week earlier. Found on the recent stretch that moved the most; its first hour
    is the one after the last hour with traffic on the old side of the two levels' geometric middle."""
    n = len(values)
    best: tuple[int, float, float] | None = None
    for hours in LEVEL_BLOCK_HOURS:
        if n - hours - HOURS_PER_WEEK < 0:
            break
        recent = [value for value in values[n - hours :] if value > 0]
        earlier = [value for value in values[n - hours - HOURS_PER_WEEK : n - HOURS_PER_WEEK] if value > 0]
        if len(recent) < LEVEL_MIN_HOURS or len(earlier) < LEVEL_MIN_HOURS:
            continue
        now_level, then_level = _median(recent), _median(earlier)
        factor = max(now_level / then_level, then_level / now_level)
        if factor >= CHANGE_FACTOR and (best is None or factor > max(best[1] / best[2], best[2] / best[1])):
            best = (hours, now_level, then_level)
    if best is None:
        return None
    _, now_level, then_level = best
    middle = math.sqrt(now_level * then_level)
    rose = now_level > then_level
    old_side = [
        hour
        for hour in range(max(0, n - HOURS_PER_WEEK), n)
        if values[hour] > 0 and (values[hour] < middle if rose else values[hour] > middle)
    ]
    onset = old_side[-1] + 1 if old_side else max(0, n - HOURS_PER_WEEK)
    return onset, now_level, then_level


def _growth_span(n: int) -> int:
    """Hours of each of the two stretches compared for growth: a week, or half of a shorter span (whole days)."""
    return min(HOURS_PER_WEEK, n // 2 // 24 * 24)


def _growing(values: list[float]) -> tuple[int, float, float] | None:
    """Traffic growing: the median hour of the last week RAMP_GROWTH times the week before's or more."""
    n = len(values)
    span = _growth_span(n)
    if span < RAMP_MIN_DAYS * 24:
        return None
    recent = [value for value in values[n - span :] if value > 0]
    earlier = [value for value in values[n - 2 * span : n - span] if value > 0]
    if len(recent) < RAMP_MIN_HOURS or len(earlier) < RAMP_MIN_HOURS:
        return None
    now_level, then_level = _median(recent), _median(earlier)
    return (span, now_level, then_level) if now_level >= RAMP_GROWTH * then_level else None


def _utilisation_rising(
    hourly: Hourly, metrics: dict[str, VariantMetrics], variants: list[Variant]
) -> tuple[int, Reading, float] | None:
    """Peak CPU or GPU (a share of the instance, daily maxima) of the last week RAMP_GROWTH times the week
    before's or more, and at least UTILISATION_CHANGE_FLOOR: (days, the recent peak, the earlier one)."""
    span = _growth_span(len(hourly.values))
    if span < RAMP_MIN_DAYS * 24:
        return None
    end = hourly.offset + len(hourly.values)
    best: tuple[int, Reading, float] | None = None
    for variant in variants:
        found = metrics.get(variant.name)
        if found is None:
            continue
        for signal, series in (("cpu", found.cpu_max_by_day), ("gpu", found.gpu_max_by_day)):
            units = signal_units(signal, variant.instance_type)
            if units is None or variant.instance_type is None:
                continue
            recent = [value for day, value in series if end - span <= day * 24 < end]
            earlier = [value for day, value in series if end - 2 * span <= day * 24 < end - span]
            if not recent or not earlier:
                continue
            peak = Reading(signal, max(recent), units, variant.instance_type, variant.name)
            before = max(earlier) / units
            rises = peak.share >= UTILISATION_CHANGE_FLOOR and peak.share >= RAMP_GROWTH * before
            if rises and (best is None or peak.share * best[2] > best[1].share * before):
                best = (span // 24, peak, before)
    return best


def changes_of(
    hourly: Hourly, metrics: dict[str, VariantMetrics], variants: list[Variant], lookback_days: int
) -> list[Change]:
    """Every change of regime the window shows, those that hold the capacity-reducing rungs first."""
    values = hourly.values
    n = len(values)
    found: list[Change] = []
    stop = _stopped(values)
    if stop is not None:
        begin, seen = stop
        quiet = n - begin
        week = values[max(0, begin - HOURS_PER_WEEK) : begin]
        at = hourly.moment(begin)
        found.append(
            Change(
                kind="stopped",
                first_hour=begin,
                what=(
                    f"traffic stopped {_hour(at)}: no invocations for {quiet / 24:.1f} days ({quiet} hours), "
                    f"{seen} of which had traffic at the same hour a week earlier; in the week before it "
                    f"stopped, {sum(week):,.0f} invocations in {sum(1 for value in week if value > 0)} of "
                    f"{len(week)} hours"
                ),
                wait=(
                    f"not idle until the whole {lookback_days}-day look-back is quiet (from "
                    f"{_hour(at + timedelta(days=lookback_days))}), and no capacity is cut on the traffic "
                    "from before the stop"
                ),
                hold=True,
                at=at,
            )
        )
    start = _started(values)
    if start is not None:
        onset, quiet = start
        since = values[onset:]
        at = hourly.moment(onset)
        lasted = n - onset
        what = (
            f"traffic started {_hour(at)}: {sum(since) / lasted:,.0f} an hour since (traffic in "
            f"{sum(1 for value in since if value > 0)} of {lasted} hours), after {quiet / 24:.1f} days without any"
        )
        hold = lasted < NEW_PATTERN_DAYS * 24
        wait = (
            f"waiting {NEW_PATTERN_DAYS} days before judging (until "
            f"{_hour(at + timedelta(days=NEW_PATTERN_DAYS))})"
            if hold
            else f"judged on the {lasted / 24:.1f} days since it started"
        )
        found.append(Change("started", onset, what, wait, hold, at))
    moved = _moved(values)
    if moved is not None:
        onset, now_level, then_level = moved
        at = hourly.moment(onset)
        direction, factor = (
            ("rose", now_level / then_level) if now_level > then_level else ("fell", then_level / now_level)
        )
        found.append(
            Change(
                kind=direction,
                first_hour=onset,
                what=(
                    f"traffic {direction} {factor:.0f}x from {_hour(at)}: a median hour of {now_level:,.0f} "
                    f"invocations since, against {then_level:,.0f} in the same hours a week earlier"
                ),
                wait=(
                    f"waiting {NEW_PATTERN_DAYS} days before judging (until "
                    f"{_hour(at + timedelta(days=NEW_PATTERN_DAYS))})"
                ),
                hold=True,
                at=at,
            )
        )
    growing = _growing(values)
    if growing is not None and not any(change.kind in ("started", "rose") for change in found):
        hours, now_level, then_level = growing
        at = hourly.moment(n - hours)
        found.append(
            Change(
                kind="growing",
                first_hour=n - hours,
                what=(
                    f"traffic growing: a median hour of {now_level:,.0f} invocations in the last {hours // 24} "
                    f"days, {now_level / then_level:.1f} times the {then_level:,.0f} of the {hours // 24} days "
                    "before"
                ),
                wait=f"no capacity is cut while it grows {RAMP_GROWTH}x or more from one {hours // 24}-day stretch "
                "to the next",
                hold=True,
                at=at,
            )
        )
    rising = _utilisation_rising(hourly, metrics, variants)
    if rising is not None:
        days, peak, before = rising
        at = hourly.moment(n - days * 24)
        found.append(
            Change(
                kind="utilisation rising",
                first_hour=n - days * 24,
                what=(
                    f"utilisation rising: {peak.describe()} on variant {peak.variant} in the last {days} days "
                    f"against {before:.0f} % of the instance in the {days} days before"
                ),
                wait=f"no capacity is cut while its peak grows {RAMP_GROWTH}x or more from one {days}-day "
                "stretch to the next",
                hold=True,
                at=at,
            )
        )
    return sorted(found, key=lambda change: not change.hold)


def window_too_short(traffic: Traffic, pattern: str) -> str | None:
    """None when the window (or the part being judged) holds PERIODIC_CYCLES occurrences of `pattern`
    ("weekly" for business hours, "bursts" for traffic that comes and goes); else the look-back it needs."""
    days = traffic.observed_days
    if pattern == "weekly":
        needed = PERIODIC_CYCLES * 7
        if days >= needed:
            return None
        return (
            f"window too short: needs {needed} days: weekday business hours are a weekly pattern, named only "
            f"after {PERIODIC_CYCLES} full weeks; {days:.1f} days observed"
        )
    if traffic.bursts >= PERIODIC_CYCLES or traffic.first_burst is None:
        return None
    first, last = traffic.first_burst
    if (last - first).total_seconds() / 3600 + 1 >= traffic.expected_hours / PERIODIC_CYCLES:
        return None  # one run of traffic over half the window or more: use that recurs within it
    # Seen once in `days`: were it periodic, its period would be longer than half of them.
    name, cycle = next(
        ((name, cycle) for name, cycle in CYCLE_DAYS if PERIODIC_CYCLES * cycle > days), CYCLE_DAYS[-1]
    )
    return (
        f"window too short: needs {PERIODIC_CYCLES * cycle} days: traffic came in one burst ({_hour(first)} to "
        f"{_hour(last + timedelta(hours=1))}) in the {days:.1f} days observed; whether and how often it recurs "
        f"cannot be told, and a {name} job shows {PERIODIC_CYCLES} runs only in {PERIODIC_CYCLES * cycle} days"
    )
