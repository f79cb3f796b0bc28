"""Snapshots and plans in S3: whatever is too large for a workflow state travels as an S3 key.

The input or output of one Step Functions state is at most 262,144 bytes ("262,144 bytes of data as a
UTF-8 encoded string", Step Functions quotas; facts/limits.md section 3, read 2026-11-30). A snapshot
small enough stays inline (one S3 round trip less); a larger one is written to
`snapshots/<state machine>/<execution>/<account>-<region>.json` and only its key travels. Every plan is
written to `plans/<state machine>/<execution>/<account>-<region>.json` (the published contract,
schema_version 1); the workflow carries a summary and the key.

AWS access is limited to PutObject/GetObject on a client passed in.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from endpoint_optimizer.models import Plan, ScanSnapshot
from endpoint_optimizer.plan_contract import plan_document

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Of the 262,144-byte state limit, what all the scan results of one run may use together inline; the
# rest is left for the other keys of the state and for the S3 references of the targets that do not fit.
INLINE_BUDGET_BYTES = 200_000
SNAPSHOTS_PREFIX = "snapshots/"
PLANS_PREFIX = "plans/"
JSON = "application/json"


class SnapshotRef(BaseModel):
    """One target's scan result as it travels through the workflow: the snapshot itself or its S3 key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["scanned"] = "scanned"
    account_id: str
    region: str
    endpoints: int
    snapshot_key: str | None = None
    snapshot: ScanSnapshot | None = None

    @model_validator(mode="after")
    def _exactly_one_of_snapshot_or_key(self) -> Self:
        if (self.snapshot is None) == (self.snapshot_key is None):
            raise ValueError("a snapshot reference holds either the snapshot or its snapshot_key")
        return self


def run_folder(execution_id: str) -> str:
    """`arn:aws:states:<r>:<a>:execution:<machine>:<name>` -> `<machine>/<name>` (unique per run)."""
    _, separator, rest = execution_id.partition(":execution:")
    name = rest if separator else execution_id
    return re.sub(r"[^\w.=+@-]", "/", name).strip("/") or "unnamed"


def snapshot_key(execution_id: str, account_id: str, region: str) -> str:
    return f"{SNAPSHOTS_PREFIX}{run_folder(execution_id)}/{account_id}-{region}.json"


def plan_key(execution_id: str, account_id: str, region: str) -> str:
    return f"{PLANS_PREFIX}{run_folder(execution_id)}/{account_id}-{region}.json"


def _size(document: Any) -> int:
    """Bytes of the JSON the Lambda runtime returns (json.dumps with its default separators)."""
    return len(json.dumps(document).encode("utf-8"))


def store_snapshot(
    s3: S3Client,
    bucket: str,
    snapshot: ScanSnapshot,
    *,
    execution_id: str,
    inline_limit_bytes: int,
) -> SnapshotRef:
    """Inline when the reference with the snapshot fits `inline_limit_bytes`, else in S3 by key."""
    inline = SnapshotRef(
        account_id=snapshot.account_id,
        region=snapshot.region,
        endpoints=len(snapshot.endpoints),
        snapshot=snapshot,
    )
    document = inline.model_dump(mode="json")
    if _size(document) <= inline_limit_bytes:
        return inline
    key = snapshot_key(execution_id, snapshot.account_id, snapshot.region)
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(document["snapshot"]).encode("utf-8"), ContentType=JSON
    )
    return SnapshotRef(
        account_id=snapshot.account_id,
        region=snapshot.region,
        endpoints=len(snapshot.endpoints),
        snapshot_key=key,
    )


def load_snapshot(s3: S3Client, bucket: str, ref: SnapshotRef) -> ScanSnapshot:
    if ref.snapshot is not None:
        return ref.snapshot
    assert ref.snapshot_key is not None  # the validator guarantees one of the two
    body = s3.get_object(Bucket=bucket, Key=ref.snapshot_key)["Body"].read()
    return ScanSnapshot.model_validate_json(body)


def store_plan(s3: S3Client, bucket: str, plan: Plan, *, execution_id: str, account_id: str) -> str:
    """Write the plan (schema_version 1, as `endpoint-optimizer scan --output` writes it); return its key."""
    key = plan_key(execution_id, account_id, plan.region)
    body = json.dumps(plan_document(plan), indent=2) + "\n"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType=JSON)
    return key


def load_plan(s3: S3Client, bucket: str, key: str) -> Plan:
    return Plan.model_validate_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
