"""`endpoint-optimizer ledger`: each applied action with its savings to date, from the ledger and `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from endpoint_optimizer.models import HOURS_PER_MONTH, Action, LedgerEntry
from endpoint_optimizer.notify.ledger_text import applied_changes, ledger_table

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COST = 146.0  # USD a month: 0.20 an hour over 730 hours


def parked(name: str, at: datetime, *, cost: float | None = COST) -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=name,
        recorded_at=at,
        action=Action.PARK,
        outcome="applied",
        approved_by="U1",
        monthly_cost_before_usd=cost,
        monthly_cost_after_usd=0.0 if cost is not None else None,
    )


def restored(name: str, at: datetime) -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=name, recorded_at=at, action="restore", outcome="restored", approved_by="ops"
    )


def test_a_park_still_in_effect_has_saved_its_hourly_cost_for_every_hour_since() -> None:
    """GIVEN a park applied 10 days ago and never restored
    WHEN the ledger is read now
    THEN it has saved the monthly cost / 730 for each of those 240 hours."""
    (change,) = applied_changes([parked("idle", NOW - timedelta(days=10))], NOW)

    assert change.in_effect_until is None
    assert change.approved_by == "U1"
    assert change.savings_to_date_usd is not None
    assert abs(change.savings_to_date_usd - COST / HOURS_PER_MONTH * 240) < 1e-9


def test_a_park_restored_later_counts_only_the_parked_span() -> None:
    """GIVEN a park 10 days ago, restored 7 days ago
    WHEN the ledger is read now
    THEN it saved for the 3 parked days only, and says until when."""
    applied_at, back_at = NOW - timedelta(days=10), NOW - timedelta(days=7)

    (change,) = applied_changes([restored("idle", back_at), parked("idle", applied_at)], NOW)

    assert change.in_effect_until == back_at
    assert change.savings_to_date_usd is not None
    assert abs(change.savings_to_date_usd - COST / HOURS_PER_MONTH * 72) < 1e-9


def test_a_park_of_unknown_cost_saves_unknown_never_zero() -> None:
    """GIVEN a park recorded without a cost (no finding at hand)
    WHEN the ledger is read
    THEN its savings are unknown (None, "unknown" in the table), not 0."""
    (change,) = applied_changes([parked("mystery", NOW - timedelta(days=2), cost=None)], NOW)

    assert change.savings_to_date_usd is None
    assert "unknown -> unknown" in ledger_table([change])
    assert change.as_json()["savings_to_date_usd"] is None


def test_changes_are_listed_by_applied_time_across_endpoints_and_a_repark_counts_again() -> None:
    """GIVEN b parked first, a parked later, and b parked again after a restore
    WHEN the ledger is read
    THEN three changes, oldest applied first, the second park of b still in effect."""
    entries = [
        parked("b", NOW - timedelta(days=9)),
        restored("b", NOW - timedelta(days=8)),
        parked("a", NOW - timedelta(days=5)),
        parked("b", NOW - timedelta(days=1)),
    ]

    changes = applied_changes(entries, NOW)

    assert [(c.endpoint_name, c.applied_at) for c in changes] == [
        ("b", NOW - timedelta(days=9)),
        ("a", NOW - timedelta(days=5)),
        ("b", NOW - timedelta(days=1)),
    ]
    assert [c.in_effect_until for c in changes] == [NOW - timedelta(days=8), None, None]
