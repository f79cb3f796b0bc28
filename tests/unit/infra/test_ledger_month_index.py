"""The ledger's month index: each entry is also kept under the month it was recorded in, so a month's
realised savings are read with one Query per month back to the retention, never a Scan. Every contract
test runs against the DynamoDB ledger (on moto) and its in-memory twin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.infra.stores import InMemoryStateTable, StateStore, StateTable
from endpoint_optimizer.infra.stores.keys import RECORD_RETENTION
from endpoint_optimizer.infra.stores.ledger import MONTHS_KEPT, DynamoDBLedger, ledger_months, month_of
from endpoint_optimizer.models import Action, LedgerEntry, Outcome
from endpoint_optimizer.notify.ledger_text import realised_savings

DECEMBER = date(2026, 12, 1)
BEFORE, AFTER = 730.0, 365.0  # USD a month: $0.50 saved an hour


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "dynamodb":
        return StateTable(request.getfixturevalue("dynamodb"), "state")
    return InMemoryStateTable()


def at(month: int, day: int, hour: int = 0, *, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def applied(name: str, when: datetime, action_id: str = "a-1") -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=name,
        recorded_at=when,
        action=Action.RIGHTSIZE,
        outcome="applied",
        approved_by="U1",
        monthly_cost_before_usd=BEFORE,
        monthly_cost_after_usd=AFTER,
        action_id=action_id,
    )


def ended(name: str, when: datetime, outcome: Outcome = "undone", action_id: str = "a-1") -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=name, recorded_at=when, action=Action.RIGHTSIZE, outcome=outcome, action_id=action_id
    )


def test_a_change_applied_in_november_and_never_undone_counts_in_december_through_the_index(
    store: StateStore,
) -> None:
    """GIVEN a rightsize applied on 20 November, never undone
    WHEN December's savings are read on 11 December from the month index (this month and the ones before)
    THEN it counts from 1 December: 10 days, $120.00."""
    store.put_ledger_entry(applied("ranker", at(11, 20)))

    entries = store.entries_since(DECEMBER, MONTHS_KEPT)
    month = realised_savings(entries, DECEMBER, now=at(12, 11))

    assert [(c.endpoint_name, c.days, c.ended) for c in month.changes] == [("ranker", 10.0, False)]
    assert month.total_saved_usd == pytest.approx(120.0)


def test_an_undo_in_december_ends_a_november_change(store: StateStore) -> None:
    """GIVEN a rightsize applied on 20 November and undone on 5 December
    WHEN December's savings are read on 11 December through the index
    THEN it counts 4 days of December (ended), $48.00."""
    store.put_ledger_entry(applied("ranker", at(11, 20)))
    store.put_ledger_entry(ended("ranker", at(12, 5)))

    month = realised_savings(store.entries_since(DECEMBER, MONTHS_KEPT), DECEMBER, now=at(12, 11))

    assert [(c.days, c.ended) for c in month.changes] == [(4.0, True)]
    assert month.total_saved_usd == pytest.approx(48.0)


def test_a_change_applied_a_year_ago_still_counts_and_one_past_the_retention_is_gone(
    store: StateStore,
) -> None:
    """GIVEN a change applied on 2 December 2025 (within the year kept) and one on 30 November 2025
    (older than the retention: its ledger entry has expired too), neither undone
    WHEN December 2026 is read through the index
    THEN the first counts and the second is not read."""
    store.put_ledger_entry(applied("kept", at(12, 2, year=2025), action_id="k"))
    store.put_ledger_entry(applied("expired", at(11, 30, year=2025), action_id="x"))

    entries = store.entries_since(DECEMBER, MONTHS_KEPT)

    assert [e.endpoint_name for e in entries] == ["kept"]


def test_the_index_reads_only_the_months_asked_oldest_first_across_endpoints(store: StateStore) -> None:
    """GIVEN entries of two endpoints in October, November, December and January
    WHEN the index is read for December and one month back
    THEN November's and December's come, by time then endpoint; October's and January's do not."""
    store.put_ledger_entry(applied("b", at(12, 3)))
    store.put_ledger_entry(applied("a", at(12, 3)))
    store.put_ledger_entry(applied("c", at(11, 30, 23)))
    store.put_ledger_entry(applied("old", at(10, 31, 23)))
    store.put_ledger_entry(applied("later", at(1, 2, year=2027)))

    entries = store.entries_since(DECEMBER, 1)

    assert [(e.endpoint_name, e.recorded_at) for e in entries] == [
        ("c", at(11, 30, 23)),
        ("a", at(12, 3)),
        ("b", at(12, 3)),
    ]


def test_the_per_endpoint_ledger_still_reads_as_before(store: StateStore) -> None:
    """GIVEN entries written with their month index
    WHEN the endpoint's ledger and the operator's whole ledger are read
    THEN each entry comes once (the index is not mistaken for ledger entries)."""
    store.put_ledger_entry(applied("ranker", at(11, 20)))
    store.put_ledger_entry(ended("ranker", at(12, 5)))

    assert [e.outcome for e in store.ledger("ranker")] == ["applied", "undone"]
    assert [e.outcome for e in store.all_ledger_entries()] == ["applied", "undone"]


# ---- how far back -----------------------------------------------------------------------------------------


def test_months_kept_reaches_back_to_the_retention_from_any_month() -> None:
    """GIVEN every month of 2024 to 2030 (leap years included)
    WHEN the oldest entry still kept (RECORD_RETENTION before the month's first instant: anything older
    has expired everywhere) is placed in months back from it
    THEN the index reads back exactly that far at most: MONTHS_KEPT months, 13 Queries a summary."""
    furthest = 0
    for year in range(2024, 2031):
        for number in range(1, 13):
            oldest_kept = month_of(datetime(year, number, 1, tzinfo=UTC) - RECORD_RETENTION)
            back = (year - oldest_kept.year) * 12 + number - oldest_kept.month
            assert ledger_months(date(year, number, 1), MONTHS_KEPT)[0] <= oldest_kept
            furthest = max(furthest, back)

    assert furthest == MONTHS_KEPT
    assert len(ledger_months(DECEMBER, MONTHS_KEPT)) == 13


def test_ledger_months_cross_the_year() -> None:
    assert ledger_months(date(2027, 2, 1), 3) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]


# ---- at the wire -------------------------------------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def month_query(month: str, **extra: Any) -> dict[str, Any]:
    return {
        "TableName": "state",
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"LEDGERMONTH#{month}"}},
        "ScanIndexForward": True,
        "ConsistentRead": True,
        **extra,
    }


def test_the_index_is_read_with_one_query_per_month_to_its_last_page(stub: Stubber) -> None:
    """GIVEN a month index whose November partition comes in two pages
    WHEN November and December are read
    THEN exactly two partitions are Queried (no Scan), November to its last page, in month order."""
    first, second, third = applied("a", at(11, 2)), applied("b", at(11, 3)), applied("c", at(12, 1))
    last_key = {"pk": {"S": "LEDGERMONTH#2026-11"}, "sk": {"S": "x"}}
    stub.add_response(
        "query",
        {"Items": [{"body": {"S": first.model_dump_json()}}], "LastEvaluatedKey": last_key},
        month_query("2026-11"),
    )
    stub.add_response(
        "query",
        {"Items": [{"body": {"S": second.model_dump_json()}}]},
        month_query("2026-11", ExclusiveStartKey=last_key),
    )
    stub.add_response("query", {"Items": [{"body": {"S": third.model_dump_json()}}]}, month_query("2026-12"))

    entries = DynamoDBLedger(stub.client, "state").entries_since(DECEMBER, 1)  # type: ignore[arg-type]

    assert entries == [first, second, third]


def test_an_entry_recorded_late_on_the_last_day_in_another_zone_is_indexed_by_its_utc_month(
    dynamodb: Any,
) -> None:
    """GIVEN an entry recorded at 2026-11-30 23:30 in UTC-05:00 (1 December in UTC)
    WHEN it is written
    THEN it is in December's index, as the months of realised savings are UTC months."""
    eastern = timezone(timedelta(hours=-5))
    StateTable(dynamodb, "state").put_ledger_entry(
        applied("ranker", datetime(2026, 11, 30, 23, 30, tzinfo=eastern))
    )

    december = dynamodb.query(
        TableName="state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "LEDGERMONTH#2026-12"}},
    )["Items"]
    assert len(december) == 1
