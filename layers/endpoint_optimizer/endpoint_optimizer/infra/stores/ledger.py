"""The ledger (`LEDGER#<endpoint>` / `<recorded at>`): what changed on an endpoint, when, approved by whom.
Append-only history, kept for RECORD_RETENTION; `is_parked` and restore read the endpoint's last word."""

from __future__ import annotations

import threading
from typing import Protocol

from endpoint_optimizer.infra.stores.dynamodb import DynamoDBStore
from endpoint_optimizer.infra.stores.keys import RECORD_RETENTION, epoch, ledger_pk
from endpoint_optimizer.models import LedgerEntry


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


class DynamoDBLedger(DynamoDBStore):
    def put_ledger_entry(self, entry: LedgerEntry) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": ledger_pk(entry.endpoint_name)},
                "sk": {"S": entry.recorded_at.isoformat()},
                "body": {"S": entry.model_dump_json()},
                "expiration": {"N": epoch(entry.recorded_at + RECORD_RETENTION)},
            },
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
