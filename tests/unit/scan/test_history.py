"""The rolling metric history: a repeat scan asks only for the series it needs, and decides the same."""

from __future__ import annotations

from datetime import datetime, timedelta

from emulated_aws.bench import generate_fleet
from emulated_aws.metric_history import (
    NOW,
    SeriesCloudWatch,
    Source,
    compare_on_labelled,
    steady_fleet_sources,
)
from endpoint_optimizer.scan.history import read_with_history
from endpoint_optimizer.scan.metrics import look_back_window

DAY = timedelta(days=1)


def _steady(kind: str) -> tuple[list, SeriesCloudWatch]:  # type: ignore[type-arg]
    fleet = [m for m in generate_fleet(200) if m.traffic == (kind,) and m.status == "InService"]
    fleet = [m for m in fleet if m.variants[0].instance_type == "ml.m5.large"][:1]
    endpoints, sources = steady_fleet_sources(fleet)
    return endpoints, SeriesCloudWatch(sources)


def _scan(cloudwatch: SeriesCloudWatch, endpoints: list, history: dict, days: int):  # type: ignore[no-untyped-def,type-arg]
    start, end = look_back_window(NOW + days * DAY, 14)
    before = cloudwatch.metrics_requested
    reads = read_with_history(cloudwatch, endpoints, history, start=start, end=end)  # type: ignore[arg-type]
    return reads, cloudwatch.metrics_requested - before


def test_a_repeat_scan_of_a_steady_busy_endpoint_asks_only_for_its_invocations() -> None:
    # GIVEN a busy, steady one-variant endpoint scanned once (six series: a full read)
    endpoints, cloudwatch = _steady("busy")
    first, first_series = _scan(cloudwatch, endpoints, {}, 0)
    assert first_series == 6
    # WHEN it is scanned again a day later with that history
    repeat, repeat_series = _scan(cloudwatch, endpoints, first.history, 1)
    # THEN at most its Invocations and the series due on its day are asked for, and its signal is there
    assert repeat_series <= 2
    assert repeat.metrics[endpoints[0].name][0].invocations_total > 0


def test_a_steady_busy_endpoint_reads_its_cpu_weekly_and_memory_fortnightly_on_its_own_day() -> None:
    # GIVEN a busy, steady endpoint and a full first scan
    endpoints, cloudwatch = _steady("busy")
    history = _scan(cloudwatch, endpoints, {}, 0)[0].history
    asked: list[int] = []
    # WHEN it is scanned daily for two weeks
    for day in range(1, 15):
        reads, series = _scan(cloudwatch, endpoints, history, day)
        history = reads.history
        asked.append(series)
    # THEN Invocations every day, CPU max twice (weekly), memory max once (fortnightly): 17 series, not 70
    assert sum(asked) == 14 + 2 + 1
    assert max(asked) <= 3  # its day in the week and in the fortnight coincide (crc32 % 14 = crc32 % 7 + 7k)


def test_re_reads_are_spread_over_the_week_so_no_day_costs_much_more_than_another() -> None:
    # GIVEN a fleet of 300 steady endpoints scanned in full once
    endpoints, sources = steady_fleet_sources(generate_fleet(300))
    cloudwatch = SeriesCloudWatch(sources)
    history = _scan(cloudwatch, endpoints, {}, 0)[0].history
    per_day: list[int] = []
    # WHEN scanned daily for two weeks
    for day in range(1, 15):
        reads, series = _scan(cloudwatch, endpoints, history, day)
        history = reads.history
        per_day.append(series)
    # THEN no day is a spike (the weekly and fortnightly re-reads fall on each endpoint's own day), and the
    # average stays at or under 1.5 series per endpoint per day
    assert max(per_day) <= 1.25 * min(per_day)
    assert sum(per_day) / len(per_day) / len(endpoints) <= 1.5


def test_an_idle_endpoint_reads_its_cpu_fortnightly_and_the_rest_at_most_every_four_weeks() -> None:
    # GIVEN an idle instance endpoint (no invocation) scanned in full once
    endpoints, cloudwatch = _steady("idle")
    history = _scan(cloudwatch, endpoints, {}, 0)[0].history
    total = 0
    # WHEN scanned daily for two weeks
    for day in range(1, 15):
        reads, series = _scan(cloudwatch, endpoints, history, day)
        history = reads.history
        total += series
    # THEN Invocations daily and CPU max once (park needs it reported every day); memory and average CPU
    # at most once, on their day in four weeks; latency and 5XX errors never (no invocation, neither)
    assert 14 + 1 <= total <= 14 + 1 + 2
    assert reads.metrics[endpoints[0].name][0].cpu_days_reported == 14


def test_an_endpoint_no_rung_judges_is_read_once_a_fortnight() -> None:
    # GIVEN a serverless endpoint (the ladder leaves it alone before any metric) scanned in full once
    fleet = [m for m in generate_fleet(200) if m.variants[0].is_serverless and m.status == "InService"][:1]
    endpoints, sources = steady_fleet_sources(fleet)
    cloudwatch = SeriesCloudWatch(sources)
    history = _scan(cloudwatch, endpoints, {}, 0)[0].history
    total = 0
    # WHEN scanned daily for two weeks
    for day in range(1, 15):
        reads, series = _scan(cloudwatch, endpoints, history, day)
        history = reads.history
        total += series
    # THEN each of its three series (Invocations, latency, errors) is read once, on its day
    assert total == 3


def test_a_missing_or_stale_history_or_a_changed_endpoint_reads_every_series_in_full() -> None:
    # GIVEN a busy endpoint and the history of a scan 15 days ago (older than the look-back)
    endpoints, cloudwatch = _steady("busy")
    old = _scan(cloudwatch, endpoints, {}, -15)[0].history
    # WHEN scanned now with it, without any history, or after the endpoint changed
    changed = [endpoints[0].model_copy(update={"last_modified_at": NOW})]
    recent = _scan(cloudwatch, endpoints, {}, -1)[0].history
    # THEN every series is read in full, as a first scan does
    assert _scan(cloudwatch, endpoints, old, 0)[1] == 6
    assert _scan(cloudwatch, endpoints, {}, 0)[1] == 6
    assert _scan(cloudwatch, changed, recent, 0)[1] == 6


def test_incremental_history_and_full_read_give_identical_findings_on_labelled_endpoints() -> None:
    # GIVEN every archetype of the labelled fleet, published as CloudWatch would
    # WHEN one plan comes from a full read and one from the history of daily scans since 1, 6 and 13 days ago
    for days in (1, 6, 13):
        comparison = compare_on_labelled(days, copies=1)
        # THEN every finding is the same, field by field, for fewer series read
        assert comparison.decisions_differing == []
        assert comparison.findings_differing == 0
        assert comparison.series_incremental < comparison.series_full / 3


def _until(series: Source, stop: datetime) -> Source:
    return lambda start, end: [(at, value) for at, value in series(start, end) if at < stop]


def test_an_idle_endpoint_whose_cpu_stops_is_noticed_by_the_history_only_at_its_next_cpu_read() -> None:
    """GIVEN an idle endpoint scanned in full once, whose CPUUtilization then stops reporting (unmonitored,
    which must never be parked) WHEN it is scanned daily with its history THEN the history reports the CPU
    series as it was at its last read until the fortnightly CPU re-read, so for some days it still counts
    the days park's "signal missing" guard needs while a full read would not: the re-check right before an
    idle action (act/recheck.py: CPU reported in the last 24 h) is what keeps that endpoint from being
    parked (tests/integration/test_park_and_restore.py::test_endpoint_whose_cpu_stopped_reporting_is_not_
    parked). And the history catches up within the fortnight."""
    fleet = [m for m in generate_fleet(200) if m.traffic == ("idle",) and m.status == "InService"]
    fleet = [m for m in fleet if m.variants[0].instance_type == "ml.m5.large"][:1]
    endpoints, sources = steady_fleet_sources(fleet)
    cloudwatch = SeriesCloudWatch(sources)
    history = _scan(cloudwatch, endpoints, {}, 0)[0].history
    for key, series in list(sources.items()):
        if key[2] == "CPUUtilization":  # no datapoint after the first scan
            sources[key] = _until(series, NOW)
    by_history: list[int] = []
    by_full_read: list[int] = []
    for day in range(1, 15):
        reads, _ = _scan(cloudwatch, endpoints, history, day)
        history = reads.history
        by_history.append(reads.metrics[endpoints[0].name][0].cpu_days_reported)
        full, _ = _scan(cloudwatch, endpoints, {}, day)
        by_full_read.append(full.metrics[endpoints[0].name][0].cpu_days_reported)
    # 13 of 14 days: park's guard (decide/ladder.py, UTILIZATION_COVERAGE 90 %). On these days the history
    # says "CPU reported" where a full read would not (days 2-7 today); the re-check covers them.
    lagging = [day for day, (h, f) in enumerate(zip(by_history, by_full_read, strict=True), 1) if h >= 13 > f]
    assert all(day < 14 for day in lagging)  # the lag is bounded by the fortnightly CPU re-read
    assert all(h >= f for h, f in zip(by_history, by_full_read, strict=True))
    assert by_history[-1] == by_full_read[-1] < 13
