"""Approvals (`APPROVAL#<id>` / `APPROVAL`): pending -> approved/rejected exactly once, before expiry.

The decision is a conditional write, so two clicks racing each other (or a click racing the timeout)
decide it once. The in-memory twin keeps the same conditions and raises the same errors.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from endpoint_optimizer.infra.stores.dynamodb import DynamoDBStore, condition_failed
from endpoint_optimizer.infra.stores.keys import APPROVAL_RETENTION, approval_key, epoch
from endpoint_optimizer.models import Approval, ApprovalState


class ApprovalNotFound(LookupError):
    pass


class ApprovalAlreadyDecided(RuntimeError):
    pass


class ApprovalExpired(RuntimeError):
    pass


class ApprovalAlreadyExists(RuntimeError):
    """An approval id is written once (ids are 72 random bits: this is a bug, never a race)."""


class ApprovalNotReopened(RuntimeError):
    """Only the click that decided an approval may take its decision back."""


class ApprovalStore(Protocol):
    def put_approval(self, approval: Approval) -> None:
        """Write a new approval (ApprovalAlreadyExists if its id is taken)."""
        ...

    def get_approval(self, approval_id: str) -> Approval:
        """The approval with its current state and decider (ApprovalNotFound if there is none)."""
        ...

    def decide_approval(
        self,
        approval_id: str,
        state: ApprovalState,
        *,
        user_id: str,
        now: datetime,
        reason: str | None = None,
        card_url: str | None = None,
    ) -> Approval:
        """pending -> `state` once, before expiry (ApprovalAlreadyDecided / ApprovalExpired otherwise);
        a rejection keeps its `reason` on the record, an approval the clicked card's `card_url`."""
        ...

    def open_approvals(self, now: datetime) -> list[Approval]:
        """The approvals still waiting for a decision at `now` (pending, not expired), oldest first."""
        ...

    def reopen(self, approval_id: str, *, decided_by: str) -> None:
        """Back to pending after Step Functions could not be told (ApprovalNotReopened unless
        `decided_by` decided it)."""
        ...

    def mark_expired(self, approval_id: str) -> None:
        """The workflow stopped waiting before the click reached it: nothing was approved."""
        ...


def check_open(approval: Approval, now: datetime) -> None:
    """Raise unless the approval can still be decided at `now`."""
    if approval.state == ApprovalState.EXPIRED:
        raise ApprovalExpired(f"approval {approval.approval_id} expired at {approval.expires_at.isoformat()}")
    if approval.state != ApprovalState.PENDING:
        raise ApprovalAlreadyDecided(f"approval {approval.approval_id} is already {approval.state.value}")
    # Whole seconds, as stored in `expires_at` for the conditional write.
    if int(now.timestamp()) >= int(approval.expires_at.timestamp()):
        raise ApprovalExpired(f"approval {approval.approval_id} expired at {approval.expires_at.isoformat()}")


def _decided(
    approval: Approval,
    state: ApprovalState,
    user_id: str,
    now: datetime,
    reason: str | None,
    *,
    card_url: str | None = None,
) -> Approval:
    return approval.model_copy(
        update={
            "state": state,
            "decided_by": user_id,
            "decided_at": now,
            "rejection_reason": reason if state == ApprovalState.REJECTED else None,
            "card_url": card_url,
        }
    )


def _oldest_first(approvals: list[Approval]) -> list[Approval]:
    return sorted(approvals, key=lambda a: (a.requested_at, a.approval_id))


def _raced(approval_id: str) -> ApprovalAlreadyDecided:
    return ApprovalAlreadyDecided(f"approval {approval_id} was decided concurrently")


def _not_reopened(approval_id: str, decided_by: str) -> ApprovalNotReopened:
    return ApprovalNotReopened(f"approval {approval_id} is not a decision of {decided_by}; not reopened")


class DynamoDBApprovals(DynamoDBStore):
    def put_approval(self, approval: Approval) -> None:
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **approval_key(approval.approval_id),
                    "state": {"S": approval.state.value},
                    "expires_at": {"N": epoch(approval.expires_at)},
                    "expiration": {"N": epoch(approval.expires_at + APPROVAL_RETENTION)},
                    "body": {"S": approval.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if condition_failed(error):
                raise ApprovalAlreadyExists(f"approval {approval.approval_id} exists already") from None
            raise

    def get_approval(self, approval_id: str) -> Approval:
        item = self._dynamodb.get_item(
            TableName=self._table, Key=approval_key(approval_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise ApprovalNotFound(approval_id)
        return _as_stored(item)

    def decide_approval(
        self,
        approval_id: str,
        state: ApprovalState,
        *,
        user_id: str,
        now: datetime,
        reason: str | None = None,
        card_url: str | None = None,
    ) -> Approval:
        approval = self.get_approval(approval_id)
        check_open(approval, now)
        update = "SET #state = :new, decided_by = :user, decided_at = :now"
        values = {
            ":new": {"S": state.value},
            ":pending": {"S": ApprovalState.PENDING.value},
            ":user": {"S": user_id},
            ":now": {"S": now.isoformat()},
            ":epoch": {"N": epoch(now)},
        }
        if state == ApprovalState.REJECTED:
            # Always written on a rejection (empty: none given), so a reopened and re-decided approval
            # never shows an earlier attempt's reason.
            update += ", rejection_reason = :reason"
            values[":reason"] = {"S": reason or ""}
        if card_url:
            update += ", card_url = :card_url"
            values[":card_url"] = {"S": card_url}
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=approval_key(approval_id),
                UpdateExpression=update,
                ConditionExpression="#state = :pending AND expires_at > :epoch",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if condition_failed(error):
                check_open(self.get_approval(approval_id), now)  # says which: decided or expired
                raise _raced(approval_id) from None
            raise
        return _decided(approval, state, user_id, now, reason, card_url=card_url)

    def open_approvals(self, now: datetime) -> list[Approval]:
        # A Scan reads the whole table and filters after reading (as `all_ledger_entries`): an operator's
        # occasional look, never a Lambda's hot path. Every page: a page stops at 1 MB read.
        request: dict[str, object] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(pk, :approval) AND #state = :pending AND expires_at > :epoch",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {
                ":approval": {"S": "APPROVAL#"},
                ":pending": {"S": ApprovalState.PENDING.value},
                ":epoch": {"N": epoch(now)},
            },
            "ConsistentRead": True,
        }
        found: list[Approval] = []
        while True:
            page = self._dynamodb.scan(**request)  # type: ignore[arg-type]
            found.extend(_as_stored(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return _oldest_first(found)
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def reopen(self, approval_id: str, *, decided_by: str) -> None:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=approval_key(approval_id),
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
        except ClientError as error:
            if condition_failed(error):
                raise _not_reopened(approval_id, decided_by) from None
            raise

    def mark_expired(self, approval_id: str) -> None:
        self._dynamodb.update_item(
            TableName=self._table,
            Key=approval_key(approval_id),
            UpdateExpression="SET #state = :expired",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":expired": {"S": ApprovalState.EXPIRED.value}},
        )


def _as_stored(item: dict[str, Any]) -> Approval:
    """The body as written, with the decision kept beside it: state, decider, when, and a rejection's
    reason."""
    approval = Approval.model_validate_json(item["body"]["S"])
    state = ApprovalState(item["state"]["S"])
    decided_at = item.get("decided_at", {}).get("S")
    reason = item.get("rejection_reason", {}).get("S") if state == ApprovalState.REJECTED else None
    return approval.model_copy(
        update={
            "state": state,
            "decided_by": item.get("decided_by", {}).get("S"),
            "decided_at": datetime.fromisoformat(decided_at) if decided_at else None,
            "rejection_reason": reason or None,
            "card_url": item.get("card_url", {}).get("S"),
        }
    )


@dataclass
class _StoredApproval:
    body: str  # as written: the state and decider below are the item's attributes beside it
    state: ApprovalState
    expires_at: int
    decided_by: str | None = None
    decided_at: datetime | None = None
    rejection_reason: str | None = None
    card_url: str | None = None


class InMemoryApprovals:
    """The same approvals in a dict: for tests and for running the approval logic without AWS."""

    def __init__(self) -> None:
        super().__init__()
        self._approvals: dict[str, _StoredApproval] = {}
        self._approvals_lock = threading.Lock()  # the conditional writes are atomic, as in DynamoDB

    def put_approval(self, approval: Approval) -> None:
        with self._approvals_lock:
            if approval.approval_id in self._approvals:
                raise ApprovalAlreadyExists(f"approval {approval.approval_id} exists already")
            self._approvals[approval.approval_id] = _StoredApproval(
                body=approval.model_dump_json(),
                state=approval.state,
                expires_at=int(epoch(approval.expires_at)),
            )

    def get_approval(self, approval_id: str) -> Approval:
        stored = self._approvals.get(approval_id)
        if stored is None:
            raise ApprovalNotFound(approval_id)
        return self._as_stored(stored)

    @staticmethod
    def _as_stored(stored: _StoredApproval) -> Approval:
        return Approval.model_validate_json(stored.body).model_copy(
            update={
                "state": stored.state,
                "decided_by": stored.decided_by,
                "decided_at": stored.decided_at,
                "rejection_reason": stored.rejection_reason
                if stored.state == ApprovalState.REJECTED
                else None,
                "card_url": stored.card_url,
            }
        )

    def decide_approval(
        self,
        approval_id: str,
        state: ApprovalState,
        *,
        user_id: str,
        now: datetime,
        reason: str | None = None,
        card_url: str | None = None,
    ) -> Approval:
        approval = self.get_approval(approval_id)
        check_open(approval, now)
        with self._approvals_lock:
            stored = self._approvals[approval_id]
            if not (stored.state == ApprovalState.PENDING and stored.expires_at > int(epoch(now))):
                check_open(self.get_approval(approval_id), now)
                raise _raced(approval_id)
            stored.state, stored.decided_by, stored.decided_at = state, user_id, now
            if state == ApprovalState.REJECTED:
                stored.rejection_reason = reason
            stored.card_url = card_url
        return _decided(approval, state, user_id, now, reason, card_url=card_url)

    def open_approvals(self, now: datetime) -> list[Approval]:
        with self._approvals_lock:
            stored = [
                self._as_stored(s)
                for s in self._approvals.values()
                if s.state == ApprovalState.PENDING and s.expires_at > int(epoch(now))
            ]
        return _oldest_first(stored)

    def reopen(self, approval_id: str, *, decided_by: str) -> None:
        with self._approvals_lock:
            stored = self._approvals.get(approval_id)
            decided = (ApprovalState.APPROVED, ApprovalState.REJECTED)
            if stored is None or stored.decided_by != decided_by or stored.state not in decided:
                raise _not_reopened(approval_id, decided_by)
            stored.state, stored.decided_by, stored.decided_at = ApprovalState.PENDING, None, None

    def mark_expired(self, approval_id: str) -> None:
        with self._approvals_lock:
            if approval_id in self._approvals:
                self._approvals[approval_id].state = ApprovalState.EXPIRED
