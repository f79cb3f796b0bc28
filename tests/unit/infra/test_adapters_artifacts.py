"""Snapshots and plans in S3, at the wire: the exact PutObject/GetObject each sends (botocore Stubber: any
other call, or other parameters, fails the test), when the inline budget spares the call, and that an S3
error reaches the caller instead of an empty snapshot or plan."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.artifacts import (
    INLINE_BUDGET_BYTES,
    SnapshotRef,
    load_plan,
    load_snapshot,
    store_plan,
    store_snapshot,
)
from endpoint_optimizer.models import Plan, ScanSnapshot
from endpoint_optimizer.plan_contract import plan_document
from tests.conftest import NOW, policy

BUCKET = "endpoint-optimizer-artifactbucket-1a2b3c"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:endpoint-optimizer-optimize:daily-2026-11-30"
RUN_FOLDER = "endpoint-optimizer-optimize/daily-2026-11-30"
SNAPSHOT_KEY = f"snapshots/{RUN_FOLDER}/123456789012-us-east-1.json"
PLAN_KEY = f"plans/{RUN_FOLDER}/123456789012-us-east-1.json"
# The largest input or output of one Step Functions state (facts/limits.md section 3).
STATE_LIMIT_BYTES = 262_144


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def inline_size(snapshot: ScanSnapshot) -> int:
    """Bytes of the reference carrying `snapshot` inline, as the Lambda runtime returns it."""
    ref = SnapshotRef(
        account_id=snapshot.account_id,
        region=snapshot.region,
        endpoints=len(snapshot.endpoints),
        snapshot=snapshot,
    )
    return len(json.dumps(ref.model_dump(mode="json")).encode("utf-8"))


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_the_inline_budget_leaves_room_in_the_state_for_the_rest_of_the_run() -> None:
    """GIVEN Step Functions' 262,144-byte state THEN the snapshots of one run may use at most 200,000 of it."""
    assert INLINE_BUDGET_BYTES == 200_000
    assert INLINE_BUDGET_BYTES < STATE_LIMIT_BYTES


def test_a_snapshot_exactly_at_its_inline_limit_travels_inline_without_an_s3_call(
    stub: Stubber, snapshot: ScanSnapshot
) -> None:
    """GIVEN an inline limit equal to the reference's size WHEN the snapshot is stored THEN no S3 call is
    made (the Stubber has no answer: any call fails) and the reference carries the snapshot."""
    ref = store_snapshot(
        stub.client,  # type: ignore[arg-type]
        BUCKET,
        snapshot,
        execution_id=EXECUTION,
        inline_limit_bytes=inline_size(snapshot),
    )
    assert (ref.snapshot, ref.snapshot_key) == (snapshot, None)
    # AND reading it back needs no S3 call either
    assert load_snapshot(stub.client, BUCKET, ref) == snapshot  # type: ignore[arg-type]


def test_a_snapshot_one_byte_over_its_limit_is_one_put_object_of_its_json_under_the_runs_folder(
    stub: Stubber, snapshot: ScanSnapshot
) -> None:
    """GIVEN an inline limit one byte short WHEN the snapshot is stored THEN one PutObject of the snapshot's
    JSON to snapshots/<machine>/<execution>/<account>-<region>.json, typed application/json, and only the
    key travels."""
    document = json.dumps(snapshot.model_dump(mode="json")).encode("utf-8")
    stub.add_response(
        "put_object",
        {},
        {"Bucket": BUCKET, "Key": SNAPSHOT_KEY, "Body": document, "ContentType": "application/json"},
    )
    ref = store_snapshot(
        stub.client,  # type: ignore[arg-type]
        BUCKET,
        snapshot,
        execution_id=EXECUTION,
        inline_limit_bytes=inline_size(snapshot) - 1,
    )
    assert (ref.snapshot, ref.snapshot_key, ref.endpoints) == (None, SNAPSHOT_KEY, len(snapshot.endpoints))


def test_a_snapshot_by_key_is_one_get_object_of_that_key(stub: Stubber, snapshot: ScanSnapshot) -> None:
    """GIVEN a reference holding a key WHEN the snapshot is loaded THEN one GetObject of that bucket and key,
    and the body is the snapshot."""
    data = snapshot.model_dump_json().encode("utf-8")
    stub.add_response("get_object", {"Body": body(data)}, {"Bucket": BUCKET, "Key": SNAPSHOT_KEY})
    ref = SnapshotRef(account_id="123456789012", region="us-east-1", endpoints=6, snapshot_key=SNAPSHOT_KEY)
    assert load_snapshot(stub.client, BUCKET, ref) == snapshot  # type: ignore[arg-type]


def test_a_snapshot_s3_no_longer_holds_fails_the_load_with_s3s_error(stub: Stubber) -> None:
    """GIVEN the snapshot's object is gone (a lifecycle rule, a hand) WHEN it is loaded THEN NoSuchKey reaches
    the caller: an analysis never runs on an empty fleet that stands for a lost one."""
    stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    ref = SnapshotRef(account_id="123456789012", region="us-east-1", endpoints=6, snapshot_key=SNAPSHOT_KEY)
    with pytest.raises(ClientError, match="NoSuchKey"):
        load_snapshot(stub.client, BUCKET, ref)  # type: ignore[arg-type]


def test_a_refused_snapshot_write_fails_the_scan_instead_of_dropping_the_snapshot(
    stub: Stubber, snapshot: ScanSnapshot
) -> None:
    stub.add_client_error("put_object", "AccessDenied", http_status_code=403)
    with pytest.raises(ClientError, match="AccessDenied"):
        store_snapshot(
            stub.client,  # type: ignore[arg-type]
            BUCKET,
            snapshot,
            execution_id=EXECUTION,
            inline_limit_bytes=0,
        )


@pytest.fixture
def plan(snapshot: ScanSnapshot) -> Plan:
    plan, _ = analyze_target(snapshot, bundled_price_book(), policy(), NOW)
    return plan


def test_a_plan_is_one_put_object_of_the_published_document_indented_with_a_final_newline(
    stub: Stubber, plan: Plan
) -> None:
    """GIVEN a plan WHEN it is stored THEN one PutObject to plans/<machine>/<execution>/<account>-<region>.json
    of the published document (schema_version 1) as `scan --output` writes it, typed application/json."""
    document = (json.dumps(plan_document(plan), indent=2) + "\n").encode("utf-8")
    stub.add_response(
        "put_object",
        {},
        {"Bucket": BUCKET, "Key": PLAN_KEY, "Body": document, "ContentType": "application/json"},
    )
    key = store_plan(
        stub.client,  # type: ignore[arg-type]
        BUCKET,
        plan,
        execution_id=EXECUTION,
        account_id="123456789012",
    )
    assert key == PLAN_KEY


def test_a_plan_is_read_back_with_one_get_object_of_its_key(stub: Stubber, plan: Plan) -> None:
    data = (json.dumps(plan_document(plan), indent=2) + "\n").encode("utf-8")
    stub.add_response("get_object", {"Body": body(data)}, {"Bucket": BUCKET, "Key": PLAN_KEY})
    assert load_plan(stub.client, BUCKET, PLAN_KEY) == plan  # type: ignore[arg-type]


def test_a_refused_plan_write_reaches_the_caller(stub: Stubber, plan: Plan) -> None:
    stub.add_client_error("put_object", "NoSuchBucket", http_status_code=404)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        store_plan(
            stub.client,  # type: ignore[arg-type]
            BUCKET,
            plan,
            execution_id=EXECUTION,
            account_id="123456789012",
        )
