"""The rolling metric history: a repeat scan reads only the series it must, and keeps the rest.

What GetMetricData bills: "$0.01 per 1,000 metrics requested" (CloudWatch pricing, API requests; Price
List "API Request GetMetricData" $0.00001 per unit in us-east-1, read 2026-12-01 from
/work/shared/facts/limits.md, which cites aws-price-watcher processed/cloudwatch.json 2025-05-24 and the
AWS JP pricing page quoted in github.com/nishinoshake/aws-rough/issues/37). A metric is one
`MetricStat` query, whatever its time range; a math expression (`Expression`) is not a metric and is
not billed. So reading one new hour of a series costs what reading 14 days of it costs: the saving
comes only from asking for fewer series, never from shorter windows.

Which series a repeat scan asks for, per variant or inference component (`first_reads`, then round two):
- Invocations: every scan (every rung reads the traffic), from just before its last read (`OVERLAP`:
  late datapoints) to now; the history supplies the rest of the look-back.
- The others again in full when their `refresh_period` has passed, on the endpoint's day in that period
  (`slot_day`: zlib.crc32 of its name, so the fleet's re-reads are spread and the daily bill is flat):
  the utilisation a rung judges capacity by (CPU max, GPU max) weekly while the variant has traffic;
  memory max fortnightly (it moves slowly); ModelLatency fortnightly for a serverless candidate (traffic
  in at most a quarter of the hours: only the serverless rung judges by it) and every four weeks for a
  busy variant (the card shows it; no rung reads it); an idle variant's CPU fortnightly (park needs it
  reported every day), its memory and GPU every four weeks, its latency and 5XX errors never (no
  invocation, neither); the series only the report draws (5XX errors, average CPU, GPU memory) every
  four weeks. An endpoint no rung judges by its metrics (not InService, or all serverless: the ladder's
  first guards) has every series read once a fortnight, its Invocations too.
- Round two, after the day's Invocations: the decision series of a variant whose load the carried peaks
  did not see (its busiest new hour above `LOAD_GROWTH` x the window's busiest hour before, idle
  becoming busy included), or, busy, whose new hours differ from the same hours a week earlier.
- A peak series whose history is not steady (its last week vs the week before) is read every scan.
  Otherwise the last read is carried forward: the window as of that read, whole (14 days reported, the
  same peaks), which is exactly what a full read returned then.
- A full read: no history, a series missing from it, a series not read for `MAX_CARRY`, the endpoint
  changed (LastModifiedTime, status), or nothing of it read within the look-back (a stale state).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from endpoint_optimizer.infra.stores.scan_cache import EndpointHistory, SeriesHistory
from endpoint_optimizer.models import Endpoint, VariantMetrics
from endpoint_optimizer.scan.metrics import (
    CPU_AVG,
    CPU_MAX,
    ERRORS,
    GPU_MAX,
    GPU_MEMORY_MAX,
    INVOCATIONS,
    LATENCY,
    MEMORY_MAX,
    Query,
    Series,
    Signal,
    fetch_series,
    signals_for,
    summarise,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
FORTNIGHT = timedelta(days=14)
FOUR_WEEKS = timedelta(days=28)
MAX_CARRY = FOUR_WEEKS  # a series not read for this long is read in full, whatever its period
OVERLAP = timedelta(hours=3)  # Invocations re-read before the last read: datapoints published late
STEADY_TRAFFIC = (0.5, 2.0)  # the new hours' invocations / the same hours a week earlier
STEADY_PEAK = (0.8, 1.25)  # a peak's last week / the week before
LOAD_GROWTH = 2.0  # the new hours' busiest hour / the busiest hour the carried peaks saw: beyond, re-read
# A variant with traffic in at most this share of the window's hours is a serverless candidate: its
# memory peak and ModelLatency are what the serverless rung judges (decide/thresholds.py
# SPORADIC_ACTIVE_SHARE; scan/ may not import decide/, docs/architecture.md).
SPORADIC_ACTIVE_SHARE = 0.25
DECISION_SIGNALS = frozenset({LATENCY.key, CPU_MAX.key, MEMORY_MAX.key, GPU_MAX.key})
REPORT_SIGNALS = frozenset({ERRORS.key, CPU_AVG.key, GPU_MEMORY_MAX.key})
PEAK_SIGNALS = (CPU_MAX.key, MEMORY_MAX.key, GPU_MAX.key)


def series_key(scope: str, subject: str, signal: Signal) -> str:
    return f"{scope}/{subject}/{signal.key}"


@dataclass(frozen=True)
class Wanted:
    """One series an endpoint publishes that the scan keeps."""

    subject: str
    scope: str
    signal: Signal

    @property
    def key(self) -> str:
        return series_key(self.scope, self.subject, self.signal)


def wanted(endpoint: Endpoint) -> list[Wanted]:
    """Every series of `endpoint`, as a full read asks for them (scan/metrics.py plan_queries)."""
    found = [
        Wanted(variant.name, "variant", signal)
        for variant in endpoint.variants
        for signal in signals_for(variant.instance_type, serverless=variant.is_serverless)
    ]
    found += [
        Wanted(component.name, "inference_component", signal)
        for component in endpoint.inference_components
        for signal in (INVOCATIONS, LATENCY, ERRORS)
    ]
    return found


def _total(series: SeriesHistory | None, since: datetime, until: datetime) -> float:
    if series is None:
        return 0.0
    return sum(value for when, value in series.points if since <= when < until)


def _peak(series: SeriesHistory, since: datetime, until: datetime) -> float | None:
    found = [value for when, value in series.points if since <= when < until]
    return max(found) if found else None


def _within(ratio_of: tuple[float | None, float | None], bounds: tuple[float, float]) -> bool:
    new, old = ratio_of
    if new is None or old is None:
        return new is None and old is None
    if new == 0 or old == 0:
        return new == old
    return bounds[0] <= new / old <= bounds[1]


def peaks_steady(past: SeriesHistory) -> bool:
    """The series' last week peaks within STEADY_PEAK of the week before (both as of its last read)."""
    end = past.read_to
    return _within((_peak(past, end - WEEK, end), _peak(past, end - 2 * WEEK, end - WEEK)), STEADY_PEAK)


def traffic_steady(invocations: SeriesHistory, since: datetime, end: datetime) -> bool:
    """The invocations from `since` to `end` (merged) against the same hours a week earlier."""
    new = _total(invocations, since, end)
    old = _total(invocations, since - WEEK, end - WEEK)
    return _within((new, old), STEADY_TRAFFIC)


def load_within_carried_peaks(
    invocations: SeriesHistory, since: datetime, *, start: datetime, end: datetime
) -> bool:
    """The new hours' busiest hour stays within LOAD_GROWTH of the busiest hour of the window before
    them: the carried utilisation peaks saw that load. None before and some now (idle becoming busy)
    is load they never saw."""
    new = _peak(invocations, since, end) or 0.0
    known = _peak(invocations, start, since) or 0.0
    return new <= known * LOAD_GROWTH


def slot_day(endpoint_name: str, end: datetime, period: timedelta) -> bool:
    """Whether the scan ending at `end` is `endpoint_name`'s day in every `period`: a stable hash of the
    name picks it (zlib.crc32, the same in every process), so re-reads are spread evenly over the period
    and the daily bill is flat, with no day where the whole fleet is read again."""
    days = max(1, period.days)
    return (int(end.timestamp()) // 86400 - zlib.crc32(endpoint_name.encode())) % days == 0


class Traffic(Enum):
    """A variant's traffic in the window so far, as the rungs tell it apart."""

    IDLE = "idle"  # no invocation: only park (CPU reported every day) and the guard judge it
    SPORADIC = "sporadic"  # traffic in at most SPORADIC_ACTIVE_SHARE of the hours: serverless candidate
    BUSY = "busy"


def traffic_class(invocations: SeriesHistory | None, start: datetime, end: datetime) -> Traffic:
    if invocations is None:
        return Traffic.IDLE
    hours = [when for when, value in invocations.points if start <= when < end and value > 0]
    if not hours:
        return Traffic.IDLE
    window_hours = max(1.0, (end - start).total_seconds() / 3600)
    return Traffic.SPORADIC if len(set(hours)) / window_hours <= SPORADIC_ACTIVE_SHARE else Traffic.BUSY


def refresh_period(signal: str, traffic: Traffic, *, judged: bool) -> timedelta | None:
    """How often a steady series is read again; None: not while the traffic stays as it is.

    `judged`: a rung may judge the endpoint by its metrics. The ladder's first guards leave an endpoint
    that is not InService, or all serverless already, alone before reading any metric (decide/ladder.py):
    every series of such an endpoint, its Invocations too, is read once a fortnight."""
    if not judged:
        return FORTNIGHT
    if signal == INVOCATIONS.key:
        return DAY  # idleness, patterns, changes: every rung reads the traffic, every scan
    if signal in REPORT_SIGNALS:
        if signal == ERRORS.key and traffic is Traffic.IDLE:
            return None  # no invocation, no invocation error: nothing new to read
        return FOUR_WEEKS  # what the report draws (and no rung reads): once in two look-backs
    if signal == LATENCY.key:
        # A variant without traffic has no ModelLatency (a full read returns none); only the serverless
        # rung judges by it (peak concurrency, cost); a busy variant's is the card's, not a rung's.
        return {Traffic.IDLE: None, Traffic.SPORADIC: FORTNIGHT, Traffic.BUSY: FOUR_WEEKS}[traffic]
    if signal == CPU_MAX.key:
        # Rightsize, Graviton, consolidation and the utilisation-rise check judge a variant with traffic
        # by its CPU peak: weekly; an idle one needs only "reported every day" (park, the guard).
        return FORTNIGHT if traffic is Traffic.IDLE else WEEK
    if signal == GPU_MAX.key:
        return FOUR_WEEKS if traffic is Traffic.IDLE else WEEK
    if signal == MEMORY_MAX.key:
        # A loaded model's memory moves slowly; rightsize, serverless and consolidation read its peak.
        return FOUR_WEEKS if traffic is Traffic.IDLE else FORTNIGHT
    return WEEK


def first_reads(
    endpoint: Endpoint, past: EndpointHistory | None, *, start: datetime, end: datetime
) -> dict[str, datetime]:
    """The series to ask for before the day's Invocations are known, each with its request start."""
    reads: dict[str, datetime] = {}
    # The state is stale when nothing of the endpoint was read within the look-back (no scan ran, or it
    # was not judged for a fortnight): read it all again, as a first scan does.
    newest = max((series.read_to for series in past.series.values()), default=None) if past else None
    full = (
        past is None
        or newest is None
        or newest <= start
        or past.last_modified_at != endpoint.last_modified_at
        or (past.status is not None and past.status != endpoint.status)
    )
    judged = endpoint.status == "InService" and not (
        endpoint.variants and all(variant.is_serverless for variant in endpoint.variants)
    )

    for item in wanted(endpoint):
        old = None if full or past is None else past.series.get(item.key)
        if old is None or end - old.read_to >= MAX_CARRY or old.read_to > end:
            reads[item.key] = start  # missing, or carried as long as it may be: the whole window
            continue
        calls = past.series.get(series_key(item.scope, item.subject, INVOCATIONS)) if past else None
        period = refresh_period(item.signal.key, traffic_class(calls, start, end), judged=judged)
        if period is None:
            continue  # if today brings traffic, round two reads what it needs
        age = end - old.read_to
        if period == DAY:
            if old.read_to <= start:
                reads[item.key] = start
            else:
                reads[item.key] = max(start, old.read_to - OVERLAP)  # only what is new
            continue
        unsteady_peak = item.signal.key in PEAK_SIGNALS and judged and not peaks_steady(old)
        if age >= period or (age >= DAY and slot_day(endpoint.name, end, period)) or unsteady_peak:
            reads[item.key] = start
    return reads


def merged(
    old: SeriesHistory | None, fresh: Series, *, since: datetime, start: datetime, end: datetime
) -> SeriesHistory:
    """What was known before `since`, and what was read from it on, within the window."""
    kept = [(when, value) for when, value in (old.points if old is not None else []) if start <= when < since]
    new = [
        (_aware(when, start), value)
        for when, value in zip(fresh.timestamps, fresh.values, strict=True)
        if start <= _aware(when, start) < end
    ]
    return SeriesHistory(points=sorted([*kept, *new]), read_to=end)


def carried(old: SeriesHistory, *, start: datetime, end: datetime) -> Series:
    """A series not read again, as of its last read: its window moved onto this one whole."""
    shift = end - old.read_to
    points = [(when + shift, value) for when, value in old.points if start <= when + shift < end]
    return Series([when for when, _ in points], [value for _, value in points])


def _aware(timestamp: datetime, reference: datetime) -> datetime:
    if timestamp.tzinfo is None and reference.tzinfo is not None:
        return timestamp.replace(tzinfo=reference.tzinfo)
    return timestamp


@dataclass
class HistoryReads:
    """The metrics phase with the history: signal per endpoint, what could not be read, the history to
    keep, and the metric series asked for (what GetMetricData bills)."""

    metrics: dict[str, list[VariantMetrics]]
    skipped: set[str]
    failed: set[str]
    history: dict[str, EndpointHistory]
    series_requested: int = 0
    requested_by_endpoint: dict[str, int] = field(default_factory=dict)


def read_with_history(
    cloudwatch: CloudWatchClient,
    endpoints: list[Endpoint],
    past: dict[str, EndpointHistory],
    *,
    start: datetime,
    end: datetime,
    max_workers: int = 4,
    count_call: Callable[[str], None] | None = None,
    out_of_time: Callable[[], bool] | None = None,
) -> HistoryReads:
    """Read what `plan` asks for (two rounds: then what the day's traffic makes necessary), merge it
    with `past`, and summarise each endpoint as a full read would (carried series as of their read)."""
    by_name = {endpoint.name: endpoint for endpoint in endpoints}
    series_of = {endpoint.name: {item.key: item for item in wanted(endpoint)} for endpoint in endpoints}
    requested: dict[str, int] = {}
    skipped: set[str] = set()
    failed: set[str] = set()
    read: dict[str, dict[str, SeriesHistory]] = {name: {} for name in by_name}

    def run(reads: dict[str, dict[str, datetime]]) -> None:
        queries: list[Query] = []
        for name, wanted_reads in reads.items():
            for key, since in wanted_reads.items():
                item = series_of[name][key]
                queries.append(Query(f"q{len(queries)}", name, item.subject, item.scope, item.signal, since))
                requested[name] = requested.get(name, 0) + 1
        if not queries:
            return
        collected, round_skipped, round_failed = fetch_series(
            cloudwatch,
            queries,
            start=start,
            end=end,
            max_workers=max_workers,
            count_call=count_call,
            out_of_time=out_of_time,
        )
        skipped.update(round_skipped)
        failed.update(round_failed)
        for query in queries:
            if query.query_id in collected:
                key = series_key(query.scope, query.subject, query.signal)
                old = past.get(query.endpoint)
                previous = old.series.get(key) if old is not None else None
                since = query.start or start
                read[query.endpoint][key] = merged(
                    previous if since > start else None,
                    collected[query.query_id],
                    since=since,
                    start=start,
                    end=end,
                )

    run(
        {
            name: first_reads(endpoint, past.get(name), start=start, end=end)
            for name, endpoint in by_name.items()
        }
    )

    # Round two: the decision series the day's traffic makes necessary (not steady, or newly busy).
    second: dict[str, dict[str, datetime]] = {}
    for name in by_name:
        old = past.get(name)
        if old is None or name in skipped or name in failed:
            continue
        now_read = read[name]
        unsteady: set[str] = set()
        for key, item in series_of[name].items():
            if item.signal.key != INVOCATIONS.key or key not in now_read or key not in old.series:
                continue
            since = old.series[key].read_to
            invocations = now_read[key]
            # Re-read when the carried peaks no longer bound the load (more than they saw, or idle
            # becoming busy), or a busy variant's hours differ from the same hours a week earlier.
            # A sporadic variant's bursts never match the week before: its load is what counts.
            busy = traffic_class(old.series[key], start, end) is Traffic.BUSY
            if not load_within_carried_peaks(invocations, since, start=start, end=end) or (
                busy and not traffic_steady(invocations, since, end)
            ):
                unsteady.add(f"{item.scope}/{item.subject}/")
        for key, item in series_of[name].items():
            if key in now_read or item.signal.key not in DECISION_SIGNALS:
                continue
            if any(key.startswith(prefix) for prefix in unsteady):
                second.setdefault(name, {})[key] = start
    run(second)

    metrics: dict[str, list[VariantMetrics]] = {name: [] for name in by_name}
    history: dict[str, EndpointHistory] = {}
    for name, endpoint in by_name.items():
        if name in skipped or name in failed:
            if name in past:
                history[name] = past[name]  # nothing new learnt: keep what was known
            continue
        old = past.get(name)
        kept: dict[str, SeriesHistory] = {}
        by_subject: dict[tuple[str, str], dict[str, Series]] = {}
        for key, item in series_of[name].items():
            subject = by_subject.setdefault((item.subject, item.scope), {})
            if key in read[name]:
                kept[key] = read[name][key]
                subject[item.signal.key] = Series(
                    [when for when, _ in kept[key].points], [value for _, value in kept[key].points]
                )
            elif old is not None and key in old.series:
                kept[key] = old.series[key]
                subject[item.signal.key] = carried(old.series[key], start=start, end=end)
        for (subject_name, scope), signals in by_subject.items():
            # No invocation in the window: no latency either (a full read returns none).
            calls = signals.get(INVOCATIONS.key)
            if LATENCY.key in signals and calls is not None and not any(calls.values):
                signals[LATENCY.key] = Series()
            metrics[name].append(summarise(subject_name, scope, signals, start=start, end=end))
        history[name] = EndpointHistory(
            last_modified_at=endpoint.last_modified_at, status=endpoint.status, series=kept
        )
    return HistoryReads(
        metrics=metrics,
        skipped=skipped,
        failed=failed,
        history=history,
        series_requested=sum(requested.values()),
        requested_by_endpoint=requested,
    )
