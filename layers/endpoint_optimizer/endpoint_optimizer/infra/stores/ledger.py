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
