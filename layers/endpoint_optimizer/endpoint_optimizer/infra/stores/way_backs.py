"""Snapshots (`SNAPSHOT#<endpoint>` / `<taken at>`): the way back of a change, whole.

Stored without an expiry: a snapshot is the way back for as long as its endpoint is parked. It starts
to expire (RECORD_RETENTION) once the endpoint serves again (`retire_way_back`).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

from botocore.exceptions import ClientError

from endpoint_optimizer.infra.stores.dynamodb import DynamoDBStore, condition_failed
from endpoint_optimizer.infra.stores.keys import RECORD_RETENTION, epoch, snapshot_pk
from endpoint_optimizer.models import WayBack


class WayBackNotFound(LookupError):
    pass


class WayBackStore(Protocol):
    def put_way_back(self, way_back: WayBack) -> None:
        """Store the way back (before anything changes); kept until retired."""
        ...

    def way_back(self, endpoint_name: str, taken_at: datetime) -> WayBack | None: ...

    def latest_way_back(self, endpoint_name: str) -> WayBack | None: ...

    def retire_way_back(self, way_back: WayBack, *, now: datetime) -> None:
        """The endpoint serves again: its snapshot is history now, kept for RECORD_RETENTION
        (SnapshotNotFound if it was never stored)."""
        ...


def _not_found(way_back: WayBack) -> WayBackNotFound:
    return WayBackNotFound(f"no snapshot {way_back.taken_at.isoformat()} of {way_back.endpoint_name}")


class DynamoDBWayBacks(DynamoDBStore):
    def put_way_back(self, way_back: WayBack) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": snapshot_pk(way_back.endpoint_name)},
                "sk": {"S": way_back.taken_at.isoformat()},
                "body": {"S": way_back.model_dump_json()},
            },
        )

    def way_back(self, endpoint_name: str, taken_at: datetime) -> WayBack | None:
        body = self._get_body({"pk": {"S": snapshot_pk(endpoint_name)}, "sk": {"S": taken_at.isoformat()}})
        return WayBack.model_validate_json(body) if body else None

    def latest_way_back(self, endpoint_name: str) -> WayBack | None:
        bodies = self._query(snapshot_pk(endpoint_name), newest_first=True, limit=1)
        return WayBack.model_validate_json(bodies[0]) if bodies else None

    def retire_way_back(self, way_back: WayBack, *, now: datetime) -> None:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={
                    "pk": {"S": snapshot_pk(way_back.endpoint_name)},
                    "sk": {"S": way_back.taken_at.isoformat()},
                },
                UpdateExpression="SET expiration = :expiration",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":expiration": {"N": epoch(now + RECORD_RETENTION)}},
            )
        except ClientError as error:
            if condition_failed(error):
                raise _not_found(way_back) from None
            raise


class InMemoryWayBacks:
    """The same snapshots in a dict, by endpoint then sort key (the ISO time, as in the table)."""

    def __init__(self) -> None:
        super().__init__()
        self._snapshots: dict[str, dict[str, str]] = {}
        self.snapshot_expirations: dict[tuple[str, str], datetime] = {}  # retired: until when kept
        self._snapshots_lock = threading.Lock()

    def put_way_back(self, way_back: WayBack) -> None:
        with self._snapshots_lock:
            sort_key = way_back.taken_at.isoformat()
            self._snapshots.setdefault(way_back.endpoint_name, {})[sort_key] = way_back.model_dump_json()
            self.snapshot_expirations.pop((way_back.endpoint_name, sort_key), None)  # a put replaces

    def way_back(self, endpoint_name: str, taken_at: datetime) -> WayBack | None:
        body = self._snapshots.get(endpoint_name, {}).get(taken_at.isoformat())
        return WayBack.model_validate_json(body) if body else None

    def latest_way_back(self, endpoint_name: str) -> WayBack | None:
        stored = self._snapshots.get(endpoint_name, {})
        return WayBack.model_validate_json(stored[max(stored)]) if stored else None

    def retire_way_back(self, way_back: WayBack, *, now: datetime) -> None:
        with self._snapshots_lock:
            sort_key = way_back.taken_at.isoformat()
            if sort_key not in self._snapshots.get(way_back.endpoint_name, {}):
                raise _not_found(way_back)
            self.snapshot_expirations[(way_back.endpoint_name, sort_key)] = now + RECORD_RETENTION
