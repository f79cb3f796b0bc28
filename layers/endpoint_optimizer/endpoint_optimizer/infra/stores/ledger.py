"""The ledger (`LEDGER#<endpoint>` / `<recorded at>`): what changed on an endpoint, when, approved by whom.
Append-only history, kept for RECORD_RETENTION; `is_parked` and restore read the endpoint's last word.

Every entry is also written to the month index (`LEDGERMONTH#<yyyy-mm>` / `<recorded at>#<endpoint>`), so
the month's realised savings (the run summary) are a Query per month, never a Scan: the functions' roles
may touch only the key prefixes they need (dynamodb:LeadingKeys), and a Scan cannot be held to a prefix.

The two items are one TransactWriteItems: written together or not at all. Two PutItems could lose the
second: an index without an `undone` entry would count a change undone as still saving (over-stating),
without an `applied` one would drop it. A failed transaction raises as a failed PutItem did (the apply
workflow retries the step), and no index item exists without its ledger entry. The per-endpoint ledger
stays the truth: restore, undo and `is_parked` read it; only the realised savings read the index.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any, Protocol

from endpoint_optimizer.infra.stores.dynamodb import DynamoDBStore
from endpoint_optimizer.infra.stores.keys import RECORD_RETENTION, epoch, ledger_month_pk, ledger_pk
from endpoint_optimizer.models import LedgerEntry

# How far back the month index is read for a month's savings: a change applied long ago and never undone
# still saves this month. RECORD_RETENTION (365 days) back from the first of a month lands at most 12
# calendar months earlier, and an older entry has expired (TTL) from the per-endpoint ledger too: so the
# month and the 12 before it (13 Queries) see every entry still kept. (tests/unit/infra/test_ledger_month_index.py
# checks it against RECORD_RETENTION.)
MONTHS_KEPT = 12


def month_of(moment: datetime) -> date:
    """The calendar month (UTC) an instant falls in, as its first day (a naive time is taken as UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def ledger_months(month: date, count: int) -> list[date]:
    """The first days of `month` and the `count` months before it, oldest first."""
    index = month.year * 12 + month.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - count, index + 1)]


class LedgerStore(Protocol):
    def put_ledger_entry(self, entry: LedgerEntry) -> None:
        """Record an entry (one per endpoint and instant: a second at the same time replaces it)."""
        ...

    def ledger(self, endpoint_name: str) -> list[LedgerEntry]:
        """The endpoint's entries, oldest first."""
        ...

    def all_ledger_entries(self) -> list[LedgerEntry]:
        """Every endpoint's entries, by endpoint then oldest first (the CLI's `ledger`)."""
        ...

    def entries_since(self, month_start: date, months_back: int) -> list[LedgerEntry]:
        """Every endpoint's entries recorded (UTC) from the first of the month `months_back` months before
        `month_start` to the end of `month_start`'s month, oldest first: from the month index, one Query
        per month (the run summary's realised savings; `MONTHS_KEPT` reaches back to the retention)."""
        ...


class DynamoDBLedger(DynamoDBStore):
    def put_ledger_entry(self, entry: LedgerEntry) -> None:
        body = entry.model_dump_json()
        expiration = epoch(entry.recorded_at + RECORD_RETENTION)  # the index expires with its entry
        items: list[dict[str, Any]] = [
            {"pk": {"S": ledger_pk(entry.endpoint_name)}, "sk": {"S": entry.recorded_at.isoformat()}},
            {
                "pk": {"S": ledger_month_pk(month_of(entry.recorded_at))},
                "sk": {"S": f"{entry.recorded_at.isoformat()}#{entry.endpoint_name}"},
            },
        ]
        # One transaction (the module's docstring says why). Each Put needs dynamodb:PutItem on its item
        # ("Using IAM with DynamoDB transactions", DynamoDB developer guide, read 2026-12-01), and costs
        # twice a PutItem's write units: a handful of entries a day.
        self._dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**key, "body": {"S": body}, "expiration": {"N": expiration}},
                    }
                }
                for key in items
            ]
        )

    def ledger(self, endpoint_name: str) -> list[LedgerEntry]:
        return [LedgerEntry.model_validate_json(body) for body in self._query(ledger_pk(endpoint_name))]

    def all_ledger_entries(self) -> list[LedgerEntry]:
        # A Scan reads the whole table (every record kind) and filters after reading: fine for an operator's
        # occasional look, not for a Lambda's hot path. Every page, since a page stops at 1 MB read.
        request: dict[str, object] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(pk, :ledger)",
            "ExpressionAttributeValues": {":ledger": {"S": ledger_pk("")}},
            "ConsistentRead": True,
        }
        found: list[tuple[str, str, str]] = []
        while True:
            page = self._dynamodb.scan(**request)  # type: ignore[arg-type]
            found.extend(
                (item["pk"]["S"], item["sk"]["S"], item["body"]["S"]) for item in page.get("Items", [])
            )
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [LedgerEntry.model_validate_json(body) for _, _, body in sorted(found)]

    def entries_since(self, month_start: date, months_back: int) -> list[LedgerEntry]:
        bodies: list[str] = []
        for month in ledger_months(month_start, months_back):
            bodies.extend(self._query(ledger_month_pk(month)))
        return [LedgerEntry.model_validate_json(body) for body in bodies]


class InMemoryLedger:
    """The same ledger in a dict, by endpoint then sort key (the ISO time, as in the table)."""

    def __init__(self) -> None:
        super().__init__()
        self._ledger: dict[str, dict[str, str]] = {}
        self._ledger_lock = threading.Lock()

    def put_ledger_entry(self, entry: LedgerEntry) -> None:
        with self._ledger_lock:
            self._ledger.setdefault(entry.endpoint_name, {})[entry.recorded_at.isoformat()] = (
                entry.model_dump_json()
            )

    def ledger(self, endpoint_name: str) -> list[LedgerEntry]:
        stored = self._ledger.get(endpoint_name, {})
        return [LedgerEntry.model_validate_json(stored[key]) for key in sorted(stored)]

    def all_ledger_entries(self) -> list[LedgerEntry]:
        with self._ledger_lock:
            stored = [
                (ledger_pk(name), key, body)
                for name, by_time in self._ledger.items()
                for key, body in by_time.items()
            ]
        return [LedgerEntry.model_validate_json(body) for _, _, body in sorted(stored)]

    def entries_since(self, month_start: date, months_back: int) -> list[LedgerEntry]:
        months = set(ledger_months(month_start, months_back))
        with self._ledger_lock:
            stored = [
                (key, name, body) for name, by_time in self._ledger.items() for key, body in by_time.items()
            ]
        # The index's order: by time, then endpoint.
        entries = [LedgerEntry.model_validate_json(body) for _, _, body in sorted(stored)]
        return [entry for entry in entries if month_of(entry.recorded_at) in months]
