"""The state table: approvals, snapshots and the ledger (one DynamoDB table, pk/sk, TTL `expiration`).

Keys: `APPROVAL#<id>` / `APPROVAL`; `SNAPSHOT#<endpoint>` / `<time>`; `LEDGER#<endpoint>` / `<time>`;
`INTENT#<endpoint>` / `<action id>`; `LOCK#<account>#<region>#<endpoint>` / `LOCK` (one open approval per
endpoint); `REJECTION#<account>#<region>#<endpoint>` / `REJECTION` (rejection cooldown).
Item bodies are the pydantic models as JSON, so what is written is exactly what is read back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.models import (
    Approval,
    ApprovalLock,
    ApprovalState,
    Finding,
    Holds,
    Intent,
    IntentState,
    LedgerEntry,
    Rejection,
    Snapshot,
    endpoint_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Approvals stay readable for audit well after they expire; DynamoDB TTL removes them later.
APPROVAL_RETENTION = timedelta(days=30)
# Snapshots and ledger entries are the way back and the record of what changed: kept for a year.
RECORD_RETENTION = timedelta(days=365)


class ApprovalNotFound(LookupError):
    pass


class ApprovalAlreadyDecided(RuntimeError):
    pass


class ApprovalExpired(RuntimeError):
    pass


# Locks and rejections (module level) -----------------------------------------------------------------
# A lock outlives its approval by the longest apply that can follow a click made at the last second:
# the apply task runs up to 300 s (template Timeout) and is retried 4 times (2 + 4 + 8 + 16 s backoff):
# 5 x 300 + 30 = 1,530 s, then "Finish or undo the change" as long again. One hour covers both.
LOCK_APPLY_MARGIN = timedelta(hours=1)
# Rejections stay readable for audit a while after their cooldown; DynamoDB TTL removes them later.
REJECTION_RETENTION = timedelta(days=30)
# BatchGetItem takes at most 100 keys a call (botocore 1.43.127 dynamodb model: KeyList max 100, read
# 2026-12-01) and may return some as UnprocessedKeys, to be asked again with backoff.
BATCH_GET_MAX_KEYS = 100
BATCH_GET_ATTEMPTS = 8


class LockHeld(RuntimeError):
    """Another approval is open for the endpoint: no second card is posted."""

    def __init__(self, holder: ApprovalLock | None) -> None:
        self.holder = holder
        super().__init__(f"approval {holder.approval_id} is open" if holder else "another approval is open")


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def _lock_key(account_id: str, region: str, endpoint_name: str) -> dict[str, Any]:
    return {"pk": {"S": f"LOCK#{endpoint_key(account_id, region, endpoint_name)}"}, "sk": {"S": "LOCK"}}


def _rejection_key(account_id: str, region: str, endpoint_name: str) -> dict[str, Any]:
    return {
        "pk": {"S": f"REJECTION#{endpoint_key(account_id, region, endpoint_name)}"},
        "sk": {"S": "REJECTION"},
    }


class StateTable:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name

    # Approvals -------------------------------------------------------------------------------------
    def put_approval(self, approval: Approval) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"APPROVAL#{approval.approval_id}"},
                "sk": {"S": "APPROVAL"},
                "state": {"S": approval.state.value},
                "expires_at": {"N": str(int(approval.expires_at.timestamp()))},
                "expiration": {"N": str(int((approval.expires_at + APPROVAL_RETENTION).timestamp()))},
                "body": {"S": approval.model_dump_json()},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_approval(self, approval_id: str) -> Approval:
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            raise ApprovalNotFound(approval_id)
        approval = Approval.model_validate_json(item["body"]["S"])
        decided_by = item.get("decided_by", {}).get("S")
        return approval.model_copy(
            update={"state": ApprovalState(item["state"]["S"]), "decided_by": decided_by}
        )

    def decide_approval(
        self, approval_id: str, state: ApprovalState, *, user_id: str, now: datetime
    ) -> Approval:
        """pending -> approved/rejected exactly once, and only before it expires (conditional write)."""
        approval = self.get_approval(approval_id)
        self._check_open(approval, now)
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}},
                UpdateExpression="SET #state = :new, decided_by = :user, decided_at = :now",
                ConditionExpression="#state = :pending AND expires_at > :epoch",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":new": {"S": state.value},
                    ":pending": {"S": ApprovalState.PENDING.value},
                    ":user": {"S": user_id},
                    ":now": {"S": now.isoformat()},
                    ":epoch": {"N": str(int(now.timestamp()))},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                self._check_open(self.get_approval(approval_id), now)  # says which: decided or expired
                raise ApprovalAlreadyDecided(f"approval {approval_id} was decided concurrently") from None
            raise
        return approval.model_copy(update={"state": state, "decided_by": user_id, "decided_at": now})

    @staticmethod
    def _check_open(approval: Approval, now: datetime) -> None:
        if approval.state == ApprovalState.EXPIRED:
            raise ApprovalExpired(
                f"approval {approval.approval_id} expired at {approval.expires_at.isoformat()}"
            )
        if approval.state != ApprovalState.PENDING:
            raise ApprovalAlreadyDecided(f"approval {approval.approval_id} is already {approval.state.value}")
        # Whole seconds, as stored in `expires_at` for the conditional write.
        if int(now.timestamp()) >= int(approval.expires_at.timestamp()):
            raise ApprovalExpired(
                f"approval {approval.approval_id} expired at {approval.expires_at.isoformat()}"
            )

    def reopen(self, approval_id: str, *, decided_by: str) -> None:
        """Back to pending after Step Functions could not be told (only the click that decided it)."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}},
            UpdateExpression="SET #state = :pending REMOVE decided_by, decided_at",
            ConditionExpression="decided_by = :user AND #state IN (:approved, :rejected)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":pending": {"S": ApprovalState.PENDING.value},
                ":user": {"S": decided_by},
                ":approved": {"S": ApprovalState.APPROVED.value},
                ":rejected": {"S": ApprovalState.REJECTED.value},
            },
        )

    def mark_expired(self, approval_id: str) -> None:
        """The workflow stopped waiting before the click reached it: record that nothing was approved."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}},
            UpdateExpression="SET #state = :expired",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":expired": {"S": ApprovalState.EXPIRED.value}},
        )

    # Locks and rejections --------------------------------------------------------------------------
    # LOCK#<account>#<region>#<endpoint> / LOCK: the one open approval of an endpoint (request_approval
    # takes it, apply or a rejection releases it, or it expires). REJECTION#<account>#<region>#<endpoint> /
    # REJECTION: written when a person rejects; Analyze leaves the endpoint alone for the cooldown.
    def take_lock(self, lock: ApprovalLock, *, now: datetime) -> None:
        """Take the endpoint's lock for `lock.approval_id` (conditional write), or raise LockHeld.

        Free means: no lock, an expired one, or one of the same action (a retry of the same request)."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **_lock_key(lock.account_id, lock.region, lock.endpoint_name),
                    "approval_id": {"S": lock.approval_id},
                    "action_id": {"S": lock.action_id},
                    "expires_at": {"N": _epoch(lock.expires_at)},
                    "expiration": {"N": _epoch(lock.expires_at)},  # TTL: nothing to keep after that
                    "body": {"S": lock.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now OR action_id = :action",
                ExpressionAttributeValues={":now": {"N": _epoch(now)}, ":action": {"S": lock.action_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # ConditionalCheckFailedException carries the item that failed the check (ALL_OLD).
            response: dict[str, Any] = dict(error.response)
            held: dict[str, Any] = response.get("Item") or {}
            holder = ApprovalLock.model_validate_json(held["body"]["S"]) if "body" in held else None
            raise LockHeld(holder) from None

    def release_lock(self, account_id: str, region: str, endpoint_name: str, *, approval_id: str) -> bool:
        """Release the lock if `approval_id` holds it (never another approval's); False if it did not."""
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key=_lock_key(account_id, region, endpoint_name),
                ConditionExpression="approval_id = :approval",
                ExpressionAttributeValues={":approval": {"S": approval_id}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_rejection(self, rejection: Rejection) -> None:
        """Record a rejection (the newest replaces an older one of the same endpoint)."""
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                **_rejection_key(rejection.account_id, rejection.region, rejection.endpoint_name),
                "rejected_at": {"S": rejection.rejected_at.isoformat()},
                "expires_at": {"N": _epoch(rejection.expires_at)},
                "expiration": {"N": _epoch(rejection.expires_at + REJECTION_RETENTION)},
                "body": {"S": rejection.model_dump_json()},
            },
        )

    def holds_for(self, findings: Sequence[Finding], *, sleep: Callable[[float], None] = time.sleep) -> Holds:
        """The locks and rejections of these findings' endpoints (BatchGetItem, 100 keys a call; expired
        ones included: the decision compares their times with now)."""
        keys: list[dict[str, Any]] = []
        for endpoint in sorted({(f.account_id, f.region, f.endpoint_name) for f in findings}):
            keys += [_lock_key(*endpoint), _rejection_key(*endpoint)]
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

    # Snapshots and intents (the way back) ----------------------------------------------------------
    def put_snapshot(self, snapshot: Snapshot) -> None:
        """Stored without an expiry: a snapshot is the way back for as long as its endpoint is parked.
        It starts to expire (RECORD_RETENTION) once the endpoint serves again (`retire_snapshot`)."""
        self._put_record(
            f"SNAPSHOT#{snapshot.endpoint_name}", snapshot.taken_at, snapshot.model_dump_json(), expires=False
        )

    def snapshot(self, endpoint_name: str, taken_at: datetime) -> Snapshot | None:
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"SNAPSHOT#{endpoint_name}"}, "sk": {"S": taken_at.isoformat()}},
            ConsistentRead=True,
        ).get("Item")
        return Snapshot.model_validate_json(item["body"]["S"]) if item else None

    def latest_snapshot(self, endpoint_name: str) -> Snapshot | None:
        bodies = self._query(f"SNAPSHOT#{endpoint_name}", newest_first=True, limit=1)
        return Snapshot.model_validate_json(bodies[0]) if bodies else None

    def retire_snapshot(self, snapshot: Snapshot, *, now: datetime) -> None:
        """The endpoint serves again: its snapshot is history now, kept for RECORD_RETENTION."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key={
                "pk": {"S": f"SNAPSHOT#{snapshot.endpoint_name}"},
                "sk": {"S": snapshot.taken_at.isoformat()},
            },
            UpdateExpression="SET expiration = :expiration",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":expiration": {"N": str(int((now + RECORD_RETENTION).timestamp()))}},
        )

    def put_intent(self, intent: Intent) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"INTENT#{intent.endpoint_name}"},
                "sk": {"S": intent.action_id},
                "state": {"S": intent.state},
                "body": {"S": intent.model_dump_json()},
            },
        )

    def intents(self, endpoint_name: str) -> list[Intent]:
        """Every intent recorded for the endpoint, oldest first (by when the change started)."""
        found = [Intent.model_validate_json(body) for body in self._query(f"INTENT#{endpoint_name}")]
        return sorted(found, key=lambda intent: intent.started_at)

    def intent(self, endpoint_name: str, action_id: str) -> Intent | None:
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"INTENT#{endpoint_name}"}, "sk": {"S": action_id}},
            ConsistentRead=True,
        ).get("Item")
        return Intent.model_validate_json(item["body"]["S"]) if item else None

    def resolve_intent(self, intent: Intent, state: IntentState, *, now: datetime) -> None:
        """Closed intents are history: they expire with the ledger."""
        resolved = intent.model_copy(update={"state": state})
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"INTENT#{intent.endpoint_name}"},
                "sk": {"S": intent.action_id},
                "state": {"S": state},
                "expiration": {"N": str(int((now + RECORD_RETENTION).timestamp()))},
                "body": {"S": resolved.model_dump_json()},
            },
        )

    # Ledger ----------------------------------------------------------------------------------------
    def put_ledger_entry(self, entry: LedgerEntry) -> None:
        self._put_record(f"LEDGER#{entry.endpoint_name}", entry.recorded_at, entry.model_dump_json())

    def ledger(self, endpoint_name: str) -> list[LedgerEntry]:
        return [LedgerEntry.model_validate_json(body) for body in self._query(f"LEDGER#{endpoint_name}")]

    # -----------------------------------------------------------------------------------------------
    def _put_record(self, pk: str, at: datetime, body: str, *, expires: bool = True) -> None:
        item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": at.isoformat()}, "body": {"S": body}}
        if expires:
            item["expiration"] = {"N": str(int((at + RECORD_RETENTION).timestamp()))}
        self._dynamodb.put_item(TableName=self._table, Item=item)

    def _query(self, pk: str, *, newest_first: bool = False, limit: int | None = None) -> list[str]:
        bodies: list[str] = []
        request: dict[str, object] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if limit is not None:
            request["Limit"] = limit
        while True:
            page = self._dynamodb.query(**request)  # type: ignore[arg-type]
            bodies.extend(item["body"]["S"] for item in page.get("Items", []))
            if limit is not None and len(bodies) >= limit:
                return bodies[:limit]
            if "LastEvaluatedKey" not in page:
                return bodies
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
