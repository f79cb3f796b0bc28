"""The state table: approvals, snapshots and the ledger (one DynamoDB table, pk/sk, TTL `expiration`).

Keys: `APPROVAL#<id>` / `APPROVAL`; `SNAPSHOT#<endpoint>` / `<time>`; `LEDGER#<endpoint>` / `<time>`.
Item bodies are the pydantic models as JSON, so what is written is exactly what is read back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from endpoint_optimizer.models import Approval, ApprovalState, LedgerEntry, Snapshot

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

    # Snapshots -------------------------------------------------------------------------------------
    def put_snapshot(self, snapshot: Snapshot) -> None:
        self._put_record(f"SNAPSHOT#{snapshot.endpoint_name}", snapshot.taken_at, snapshot.model_dump_json())

    def latest_snapshot(self, endpoint_name: str) -> Snapshot | None:
        bodies = self._query(f"SNAPSHOT#{endpoint_name}", newest_first=True, limit=1)
        return Snapshot.model_validate_json(bodies[0]) if bodies else None

    # Ledger ----------------------------------------------------------------------------------------
    def put_ledger_entry(self, entry: LedgerEntry) -> None:
        self._put_record(f"LEDGER#{entry.endpoint_name}", entry.recorded_at, entry.model_dump_json())

    def ledger(self, endpoint_name: str) -> list[LedgerEntry]:
        return [LedgerEntry.model_validate_json(body) for body in self._query(f"LEDGER#{endpoint_name}")]

    # -----------------------------------------------------------------------------------------------
    def _put_record(self, pk: str, at: datetime, body: str) -> None:
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": pk},
                "sk": {"S": at.isoformat()},
                "expiration": {"N": str(int((at + RECORD_RETENTION).timestamp()))},
                "body": {"S": body},
            },
        )

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
