"""Intents (`INTENT#<endpoint>` / `<action id>`): a change under way, written before its first call to
AWS and resolved after it, so a change that died half-way is found and finished or undone.

Not part of the ledger store: an intent is a mutable record of one action (open -> done/rolled back),
looked up by action id, and kept without expiry while open; the ledger is append-only history.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

from endpoint_optimizer.infra.stores.dynamodb import DynamoDBStore
from endpoint_optimizer.infra.stores.keys import RECORD_RETENTION, epoch, intent_pk
from endpoint_optimizer.models import Intent, IntentState


class IntentStore(Protocol):
    def put_intent(self, intent: Intent) -> None: ...

    def intents(self, endpoint_name: str) -> list[Intent]:
        """Every intent recorded for the endpoint, oldest first (by when the change started)."""
        ...

    def intent(self, endpoint_name: str, action_id: str) -> Intent | None: ...

    def resolve_intent(self, intent: Intent, state: IntentState, *, now: datetime) -> None:
        """Closed intents are history: they expire with the ledger."""
        ...


def _oldest_first(intents: list[Intent]) -> list[Intent]:
    return sorted(intents, key=lambda intent: intent.started_at)


class DynamoDBIntents(DynamoDBStore):
    def put_intent(self, intent: Intent) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": intent_pk(intent.endpoint_name)},
                "sk": {"S": intent.action_id},
                "state": {"S": intent.state},
                "body": {"S": intent.model_dump_json()},
            },
        )

    def intents(self, endpoint_name: str) -> list[Intent]:
        return _oldest_first([Intent.model_validate_json(b) for b in self._query(intent_pk(endpoint_name))])

    def intent(self, endpoint_name: str, action_id: str) -> Intent | None:
        body = self._get_body({"pk": {"S": intent_pk(endpoint_name)}, "sk": {"S": action_id}})
        return Intent.model_validate_json(body) if body else None

    def resolve_intent(self, intent: Intent, state: IntentState, *, now: datetime) -> None:
        resolved = intent.model_copy(update={"state": state})
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": intent_pk(intent.endpoint_name)},
                "sk": {"S": intent.action_id},
                "state": {"S": state},
                "expiration": {"N": epoch(now + RECORD_RETENTION)},
                "body": {"S": resolved.model_dump_json()},
            },
        )


class InMemoryIntents:
    """The same intents in a dict, by endpoint then action id (the table's sort key)."""

    def __init__(self) -> None:
        super().__init__()
        self._intents: dict[str, dict[str, str]] = {}
        self._intents_lock = threading.Lock()

    def put_intent(self, intent: Intent) -> None:
        with self._intents_lock:
            self._intents.setdefault(intent.endpoint_name, {})[intent.action_id] = intent.model_dump_json()

    def intents(self, endpoint_name: str) -> list[Intent]:
        stored = self._intents.get(endpoint_name, {})
        return _oldest_first([Intent.model_validate_json(stored[key]) for key in sorted(stored)])

    def intent(self, endpoint_name: str, action_id: str) -> Intent | None:
        body = self._intents.get(endpoint_name, {}).get(action_id)
        return Intent.model_validate_json(body) if body else None

    def resolve_intent(self, intent: Intent, state: IntentState, *, now: datetime) -> None:
        del now  # expiry is DynamoDB's TTL: nothing here expires
        self.put_intent(intent.model_copy(update={"state": state}))
