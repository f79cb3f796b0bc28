"""What holds an endpoint back from a new proposal: its lock (`LOCK#...` / `LOCK`, the one open approval
of the endpoint) and its rejection (`REJECTION#...` / `REJECTION`, the cooldown after a person said no).

One store for both: Analyze reads them together (one BatchGetItem, `holds_for`) and decides on both
the same way (their times against now). Approvals themselves are keyed by approval id: approvals.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from endpoint_optimizer.infra.stores.dynamodb import DynamoDBStore, condition_failed
from endpoint_optimizer.infra.stores.keys import REJECTION_RETENTION, epoch, lock_key, rejection_key
from endpoint_optimizer.models import ApprovalLock, Finding, Holds, Rejection, endpoint_key

# A lock outlives its approval by the longest apply that can follow a click made at the last second:
# the apply task runs up to 300 s (template Timeout) and is retried 4 times (2 + 4 + 8 + 16 s backoff):
# 5 x 300 + 30 = 1,530 s, then "Finish or undo the change" as long again. One hour covers both.
LOCK_APPLY_MARGIN = timedelta(hours=1)
# BatchGetItem takes at most 100 keys a call (botocore 1.43.127 dynamodb model: KeyList max 100, read
# 2026-12-01) and may return some as UnprocessedKeys, to be asked again with backoff.
BATCH_GET_MAX_KEYS = 100
BATCH_GET_ATTEMPTS = 8


class LockHeld(RuntimeError):
    """Another approval is open for the endpoint: no second card is posted."""

    def __init__(self, holder: ApprovalLock | None) -> None:
        self.holder = holder
        super().__init__(f"approval {holder.approval_id} is open" if holder else "another approval is open")


class HoldStore(Protocol):
    def take_lock(self, lock: ApprovalLock, *, now: datetime) -> None:
        """Take the endpoint's lock for `lock.approval_id`, or raise LockHeld.

        Free means: no lock, an expired one, or one of the same action (a retry of the same request)."""
        ...

    def release_lock(self, account_id: str, region: str, endpoint_name: str, *, approval_id: str) -> bool:
        """Release the lock if `approval_id` holds it (never another approval's); False if it did not."""
        ...

    def put_rejection(self, rejection: Rejection) -> None:
        """Record a rejection (the newest replaces an older one of the same endpoint)."""
        ...

    def holds_for(self, findings: Sequence[Finding], *, sleep: Callable[[float], None] = time.sleep) -> Holds:
        """The locks and rejections of these findings' endpoints (expired ones included: the decision
        compares their times with now)."""
        ...

    def last_rejection(self, account_id: str, region: str, endpoint_name: str) -> Rejection | None:
        """The endpoint's newest rejection still kept (its cooldown over or not), or None: a new card
        says who said no last time, and why."""
        ...


def _lock_is_free(held: ApprovalLock | None, lock: ApprovalLock, now: datetime) -> bool:
    """The condition of the lock's write, on the lock as stored (whole seconds, as DynamoDB compares)."""
    return held is None or int(epoch(held.expires_at)) <= int(epoch(now)) or held.action_id == lock.action_id


class DynamoDBHolds(DynamoDBStore):
    def take_lock(self, lock: ApprovalLock, *, now: datetime) -> None:
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **lock_key(lock.account_id, lock.region, lock.endpoint_name),
                    "approval_id": {"S": lock.approval_id},
                    "action_id": {"S": lock.action_id},
                    "expires_at": {"N": epoch(lock.expires_at)},
                    "expiration": {"N": epoch(lock.expires_at)},  # TTL: nothing to keep after that
                    "body": {"S": lock.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now OR action_id = :action",
                ExpressionAttributeValues={":now": {"N": epoch(now)}, ":action": {"S": lock.action_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            # ConditionalCheckFailedException carries the item that failed the check (ALL_OLD).
            response: dict[str, Any] = dict(error.response)
            held: dict[str, Any] = response.get("Item") or {}
            holder = ApprovalLock.model_validate_json(held["body"]["S"]) if "body" in held else None
            raise LockHeld(holder) from None

    def release_lock(self, account_id: str, region: str, endpoint_name: str, *, approval_id: str) -> bool:
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key=lock_key(account_id, region, endpoint_name),
                ConditionExpression="approval_id = :approval",
                ExpressionAttributeValues={":approval": {"S": approval_id}},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def put_rejection(self, rejection: Rejection) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                **rejection_key(rejection.account_id, rejection.region, rejection.endpoint_name),
                "rejected_at": {"S": rejection.rejected_at.isoformat()},
                "expires_at": {"N": epoch(rejection.expires_at)},
                "expiration": {"N": epoch(rejection.expires_at + REJECTION_RETENTION)},
                "body": {"S": rejection.model_dump_json()},
            },
        )

    def last_rejection(self, account_id: str, region: str, endpoint_name: str) -> Rejection | None:
        """One GetItem. Eventually consistent: a rejection is days old when the next card is asked for."""
        item = self._dynamodb.get_item(
            TableName=self._table, Key=rejection_key(account_id, region, endpoint_name)
        ).get("Item")
        return Rejection.model_validate_json(item["body"]["S"]) if item else None

    def holds_for(self, findings: Sequence[Finding], *, sleep: Callable[[float], None] = time.sleep) -> Holds:
        """BatchGetItem, 100 keys a call."""
        keys: list[dict[str, Any]] = []
        for endpoint in sorted({(f.account_id, f.region, f.endpoint_name) for f in findings}):
            keys += [lock_key(*endpoint), rejection_key(*endpoint)]
        locks: dict[str, ApprovalLock] = {}
        rejections: dict[str, Rejection] = {}
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            for item in self._batch_get(keys[start : start + BATCH_GET_MAX_KEYS], sleep):
                body = item["body"]["S"]
                if item["sk"]["S"] == "LOCK":
                    lock = ApprovalLock.model_validate_json(body)
                    locks[endpoint_key(lock.account_id, lock.region, lock.endpoint_name)] = lock
                else:
                    rejection = Rejection.model_validate_json(body)
                    where = endpoint_key(rejection.account_id, rejection.region, rejection.endpoint_name)
                    rejections[where] = rejection
        return Holds(locks=locks, rejections=rejections)

    def _batch_get(self, keys: list[dict[str, Any]], sleep: Callable[[float], None]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            page = self._dynamodb.batch_get_item(RequestItems=request)
            items += page.get("Responses", {}).get(self._table, [])
            request = page.get("UnprocessedKeys") or {}
            if not request:
                return items
            sleep(min(0.05 * 2**attempt, 2.0))  # throttled: back off before asking for the rest
        raise RuntimeError(
            f"DynamoDB left {len(request[self._table]['Keys'])} lock/rejection key(s) unprocessed "
            f"after {BATCH_GET_ATTEMPTS} attempts"
        )


class InMemoryHolds:
    """The same locks and rejections in dicts (by endpoint key), stored as JSON like the table's bodies."""

    def __init__(self) -> None:
        super().__init__()
        self._locks: dict[str, str] = {}
        self._rejections: dict[str, str] = {}
        self._holds_lock = threading.Lock()  # the conditional writes are atomic, as in DynamoDB

    def take_lock(self, lock: ApprovalLock, *, now: datetime) -> None:
        where = endpoint_key(lock.account_id, lock.region, lock.endpoint_name)
        with self._holds_lock:
            stored = self._locks.get(where)
            held = ApprovalLock.model_validate_json(stored) if stored else None
            if not _lock_is_free(held, lock, now):
                raise LockHeld(held)
            self._locks[where] = lock.model_dump_json()

    def release_lock(self, account_id: str, region: str, endpoint_name: str, *, approval_id: str) -> bool:
        where = endpoint_key(account_id, region, endpoint_name)
        with self._holds_lock:
            stored = self._locks.get(where)
            if stored is None or ApprovalLock.model_validate_json(stored).approval_id != approval_id:
                return False
            del self._locks[where]
        return True

    def put_rejection(self, rejection: Rejection) -> None:
        where = endpoint_key(rejection.account_id, rejection.region, rejection.endpoint_name)
        with self._holds_lock:
            self._rejections[where] = rejection.model_dump_json()

    def last_rejection(self, account_id: str, region: str, endpoint_name: str) -> Rejection | None:
        stored = self._rejections.get(endpoint_key(account_id, region, endpoint_name))
        return Rejection.model_validate_json(stored) if stored else None

    def holds_for(self, findings: Sequence[Finding], *, sleep: Callable[[float], None] = time.sleep) -> Holds:
        del sleep  # never throttled
        wanted = {endpoint_key(f.account_id, f.region, f.endpoint_name) for f in findings}
        return Holds(
            locks={k: ApprovalLock.model_validate_json(v) for k, v in self._locks.items() if k in wanted},
            rejections={
                k: Rejection.model_validate_json(v) for k, v in self._rejections.items() if k in wanted
            },
        )
