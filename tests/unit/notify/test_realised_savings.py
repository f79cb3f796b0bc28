"""Realised savings of a month: each applied change's cost before and after over the days of the month
it stayed applied, from the ledger's monthly prices (/ 730 hours), summed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.events import SummaryRequest
from endpoint_optimizer.models import Action, LedgerEntry, Outcome, Plan, ScanSnapshot
from endpoint_optimizer.models.change import night_prefix
from endpoint_optimizer.notify.ledger_text import (
    MonthSavings,
    applied_changes,
    month_table,
    parse_month,
    realised_savings,
)
from endpoint_optimizer.notify.messages import SLACK_MAX_BLOCKS, summary_message
from endpoint_optimizer.notify.report import render_report
from tests.conftest import NOW, load_event, policy

DECEMBER = date(2026, 12, 1)
NOVEMBER = date(2026, 11, 1)
BEFORE, AFTER = 730.0, 365.0  # USD a month: $1.00 and $0.50 an hour, so $0.50 saved an hour


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def applied(
    name: str,
    when: datetime,
    *,
    action: Action = Action.RIGHTSIZE,
    action_id: str = "a-1",
    before: float | None = BEFORE,
    after: float | None = AFTER,
) -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=name,
        recorded_at=when,
        action=action,
        outcome="applied",
        approved_by="U1",
        monthly_cost_before_usd=before,
        monthly_cost_after_usd=after,
        action_id=action_id,
    )


def ended(name: str, when: datetime, outcome: Outcome, *, action_id: str = "a-1") -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=name, recorded_at=when, action=Action.RIGHTSIZE, outcome=outcome, action_id=action_id
    )


@pytest.fixture
def plan(snapshot: ScanSnapshot) -> Plan:
    plan, _ = analyze_target(snapshot, bundled_price_book(), policy(), NOW)
    return plan


def test_a_change_applied_on_the_10th_and_undone_on_the_20th_counts_10_days() -> None:
    """GIVEN a rightsize from $730 to $365 a month applied on 10 December, undone on 20 December
    WHEN December's savings are read at the month's end
    THEN it counts 10 days (240 hours): $240.00 before, $120.00 after, $120.00 saved."""
    entries = [applied("ranker", at(12, 10)), ended("ranker", at(12, 20), "undone")]

    month = realised_savings(entries, DECEMBER, now=at(12, 31, 23))

    (change,) = month.changes
    assert (change.hours, change.days, change.ended) == (240.0, 10.0, True)
    assert change.cost_before_usd == pytest.approx(240.0)
    assert change.cost_after_usd == pytest.approx(120.0)
    assert change.saved_usd == pytest.approx(120.0)
    assert month.total_saved_usd == pytest.approx(120.0)


def test_the_month_under_way_counts_until_now() -> None:
    """GIVEN a change applied on 10 December and still in effect
    WHEN December's savings are read on 15 December at noon
    THEN it counts 5.5 days so far: $66.00."""
    month = realised_savings([applied("ranker", at(12, 10))], DECEMBER, now=at(12, 15, 12))

    (change,) = month.changes
    assert (change.days, change.ended) == (5.5, False)
    assert month.total_saved_usd == pytest.approx(66.0)


def test_a_change_applied_in_an_earlier_month_counts_from_the_first_of_the_month() -> None:
    """GIVEN a change applied on 10 November, still in effect
    WHEN November and December are read on 11 December
    THEN November counts from the 10th to its end (21 days, $252.00), December from the 1st (10 days,
    $120.00)."""
    entries = [applied("ranker", at(11, 10))]
    now = at(12, 11)

    november = realised_savings(entries, NOVEMBER, now=now)
    december = realised_savings(entries, DECEMBER, now=now)

    assert [c.days for c in november.changes] == [21.0]
    assert november.total_saved_usd == pytest.approx(252.0)
    assert [c.days for c in december.changes] == [10.0]
    assert december.changes[0].counted_from == at(12, 1)
    assert december.total_saved_usd == pytest.approx(120.0)


def test_a_change_undone_before_the_month_is_not_in_it() -> None:
    entries = [applied("ranker", at(11, 10)), ended("ranker", at(11, 20), "undone")]

    assert realised_savings(entries, DECEMBER, now=at(12, 15)).changes == []


def test_a_rollback_of_the_change_ends_it_and_a_rollback_of_another_change_does_not() -> None:
    """GIVEN two endpoints changed on the 10th: on one the change itself is rolled back on the 12th;
    on the other a later, different change is rolled back on the 12th (never applied)
    WHEN December is read on the 20th
    THEN the first counts 2 days and the second all 10."""
    entries = [
        applied("rolled", at(12, 10)),
        ended("rolled", at(12, 12), "rolled_back"),
        applied("kept", at(12, 10), action_id="b-1"),
        ended("kept", at(12, 12), "rolled_back", action_id="b-2"),
    ]

    month = realised_savings(entries, DECEMBER, now=at(12, 20))

    assert {c.endpoint_name: c.days for c in month.changes} == {"kept": 10.0, "rolled": 2.0}
    assert month.total_saved_usd == pytest.approx(0.5 * 24 * 12)


def test_a_restore_ends_a_park_and_a_later_change_ends_the_one_before() -> None:
    """GIVEN a park on the 1st restored on the 4th, and a schedule on the 1st replaced by a rightsize on
    the 6th (its own costs from then on)
    WHEN December is read on the 11th
    THEN the park counts 3 days, the schedule 5 and the rightsize 5."""
    entries = [
        applied("idle", at(12, 1), action=Action.PARK, action_id="p", before=146.0, after=0.0),
        LedgerEntry(endpoint_name="idle", recorded_at=at(12, 4), action="restore", outcome="restored"),
        applied("busy", at(12, 1), action=Action.SCHEDULE, action_id="s"),
        applied("busy", at(12, 6), action=Action.RIGHTSIZE, action_id="r", before=365.0, after=73.0),
    ]

    month = realised_savings(entries, DECEMBER, now=at(12, 11))

    assert [(c.endpoint_name, c.action, c.days) for c in month.changes] == [
        ("busy", "schedule", 5.0),
        ("idle", "park", 3.0),
        ("busy", "rightsize", 5.0),
    ]
    # park: 146/730 x 72 h = 14.40; schedule: 0.50 x 120 h = 60.00; rightsize: 292/730 x 120 h = 48.00
    assert month.total_saved_usd == pytest.approx(14.4 + 60.0 + 48.0)


def night(name: str, schedule_action_id: str, day: int) -> list[LedgerEntry]:
    """One night of a schedule change as the ledger has it: the night's park (22:00, unpriced: the night
    request carries no cost, act/night.py) and the morning's restore (07:00, the park's snapshot)."""
    parked_at, back_at = at(12, day, 22), at(12, day + 1, 7)
    return [
        LedgerEntry(
            endpoint_name=name,
            recorded_at=parked_at,
            action=Action.PARK,
            outcome="applied",
            approved_by=f"night schedule of change {schedule_action_id}",
            snapshot_taken_at=parked_at,
            action_id=f"{night_prefix(schedule_action_id)}202612{day:02d}",
        ),
        LedgerEntry(
            endpoint_name=name,
            recorded_at=back_at,
            action="restore",
            outcome="restored",
            approved_by=f"morning schedule of change {schedule_action_id}",
            snapshot_taken_at=parked_at,
        ),
    ]


def test_night_parks_and_morning_restores_are_part_of_their_schedule_change() -> None:
    """GIVEN a schedule change with night parking applied on the 1st ($730 -> $400 a month, the parked
    hours in its after-cost) and 9 nights parked and restored since
    WHEN December is read on the 11th
    THEN the schedule change alone counts, all 10 days: $330/730 x 240 h = $108.49; no night is a change."""
    entries = [applied("nightly", at(12, 1), action=Action.SCHEDULE, action_id="s", after=400.0)]
    for day in range(1, 10):
        entries += night("nightly", "s", day)

    month = realised_savings(entries, DECEMBER, now=at(12, 11))

    assert [(c.action, c.action_id, c.days) for c in month.changes] == [("schedule", "s", 10.0)]
    assert month.total_saved_usd == pytest.approx(330.0 * 240 / 730)
    assert month.headline() == "Saved this month so far: $108.49 across 1 change"
    assert [(c.action, c.in_effect_until) for c in applied_changes(entries, at(12, 11))] == [
        ("schedule", None)
    ]


def test_an_approved_park_and_its_restore_still_end_a_schedule_change_with_night_parking() -> None:
    """GIVEN a schedule change with night parking on the 1st, a night on the 2nd, and a park someone
    approved on the 5th (restored on the 8th)
    WHEN December is read on the 11th
    THEN the schedule counts until the approved park (4 days), the park 3 days; the night is no change."""
    entries = [
        applied("nightly", at(12, 1), action=Action.SCHEDULE, action_id="s", after=400.0),
        *night("nightly", "s", 2),
        applied("nightly", at(12, 5), action=Action.PARK, action_id="p", before=146.0, after=0.0),
        LedgerEntry(endpoint_name="nightly", recorded_at=at(12, 8), action="restore", outcome="restored"),
    ]

    month = realised_savings(entries, DECEMBER, now=at(12, 11))

    assert [(c.action, c.days) for c in month.changes] == [("schedule", 4.0), ("park", 3.0)]
    # schedule: 330/730 x 96 h = 43.40; park: 146/730 x 72 h = 14.40
    assert month.total_saved_usd == pytest.approx(330.0 * 96 / 730 + 14.4)


def test_a_change_of_unknown_cost_is_listed_but_never_counted_as_zero() -> None:
    """GIVEN one priced change and one recorded without a cost
    WHEN the month is read
    THEN both are listed, the total is the priced one's, and the headline says one more is unpriced."""
    entries = [applied("priced", at(12, 10)), applied("unpriced", at(12, 10), action_id="u", before=None)]

    month = realised_savings(entries, DECEMBER, now=at(12, 20))

    assert [c.saved_usd for c in month.unpriced] == [None]
    assert month.total_saved_usd == pytest.approx(120.0)
    assert month.headline() == (
        "Saved this month so far: $120.00 across 1 change (1 more without a known cost)"
    )


def test_the_table_has_a_row_per_change_and_the_total() -> None:
    entries = [applied("ranker", at(12, 10)), ended("ranker", at(12, 20), "undone")]

    table = month_table(realised_savings(entries, DECEMBER, now=at(12, 31)))

    header, row, total = table.splitlines()
    assert header.split() == [
        "ENDPOINT",
        "ACTION",
        "IN",
        "EFFECT",
        "(UTC)",
        "DAYS",
        "COST",
        "BEFORE",
        "COST",
        "AFTER",
        "SAVED",
    ]
    assert row.split() == [
        "ranker",
        "rightsize",
        "12-10",
        "00:00",
        "->",
        "12-20",
        "00:00",
        "(ended)",
        "10.0",
        "$240.00",
        "$120.00",
        "$120.00",
    ]
    assert total == "TOTAL 2026-12: $120.00 saved across 1 change(s)"


def test_the_json_gives_the_month_the_total_and_each_change_in_cents() -> None:
    entries = [applied("ranker", at(12, 10)), ended("ranker", at(12, 20), "undone")]

    document = realised_savings(entries, DECEMBER, now=at(12, 31)).as_json()

    assert document["month"] == "2026-12"
    assert document["total_saved_usd"] == 120.0
    changes = document["changes"]
    assert isinstance(changes, list) and len(changes) == 1
    change: dict[str, object] = changes[0]
    assert change["days"] == 10.0
    assert (change["cost_before_usd"], change["cost_after_usd"], change["saved_usd"]) == (240.0, 120.0, 120.0)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "december", "2026/12", ""])
def test_a_month_that_is_not_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(text)


def test_a_month_parses_to_its_first_day() -> None:
    assert parse_month("2026-12") == DECEMBER


# ---- where people read it: the weekly summary (SNS + Slack) and the HTML report --------------------------


def december_so_far() -> MonthSavings:
    entries = [
        applied("ranker", at(12, 10)),
        ended("ranker", at(12, 20), "undone"),
        applied("idle", at(12, 18)),
    ]
    return realised_savings(entries, DECEMBER, now=at(12, 20))


def test_the_weekly_summary_says_what_was_saved_this_month_so_far_in_email_and_slack() -> None:
    """GIVEN December so far: $120.00 from a change undone on the 20th, $24.00 from one applied on the 18th
    WHEN the run summary is written
    THEN the email and the Slack message carry one line with the month's total and the changes counted."""
    summary = SummaryRequest.model_validate(load_event("notify_summary.json"))

    message = summary_message(summary.plans, summary.results, [], realised_month=december_so_far())

    line = "Saved this month so far: $144.00 across 2 changes."
    assert line in message.text.splitlines()
    assert any(line in str(block.to_dict()) for block in message.blocks)
    assert len(message.blocks) <= SLACK_MAX_BLOCKS


def test_the_summary_without_the_ledger_reads_as_before() -> None:
    summary = SummaryRequest.model_validate(load_event("notify_summary.json"))

    assert "Saved this month" not in summary_message(summary.plans, summary.results, []).text


def test_the_html_report_shows_the_months_realised_savings(plan: Plan, snapshot: ScanSnapshot) -> None:
    """GIVEN December so far
    WHEN the report is rendered with it
    THEN a section names the month and its total, and a row per change gives its days, costs and saving."""
    html = render_report(plan, snapshot, realised=december_so_far())

    assert "<h2>Realised savings, 2026-12: $144.00</h2>" in html
    assert (
        '<td class="num">10.0</td><td class="num">$240.00</td><td class="num">$120.00</td>'
        '<td class="num">$120.00</td>'
    ) in html
    assert "Total across 2 change(s)" in html
    assert "Realised savings" not in render_report(plan, snapshot)


def test_the_html_report_escapes_endpoint_names_from_the_ledger(plan: Plan, snapshot: ScanSnapshot) -> None:
    month = realised_savings([applied('<script>alert("x")</script>', at(12, 10))], DECEMBER, now=at(12, 11))

    html = render_report(plan, snapshot, realised=month)

    assert "<script>" not in html
