"""Snapshots too large for one workflow state go to S3 and only their key travels; plans always go to S3."""

from __future__ import annotations

import json

import jsonschema
import pytest

from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.artifacts import (
    SnapshotRef,
    load_plan,
    load_snapshot,
    plan_key,
    run_folder,
    store_plan,
    store_snapshot,
)
from endpoint_optimizer.models import ScanSnapshot
from endpoint_optimizer.plan_contract import plan_schema
from tests.conftest import NOW, policy
from tests.unit.fake_s3 import FakeS3

BUCKET = "endpoint-optimizer-artifactbucket-1a2b3c"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:endpoint-optimizer-optimize:daily-2026-11-30"
# The largest state Step Functions accepts (facts/limits.md section 3).
STATE_LIMIT_BYTES = 262_144


def test_a_small_snapshot_travels_inline_and_nothing_is_written(snapshot: ScanSnapshot) -> None:
    s3 = FakeS3()
    ref = store_snapshot(s3.client, BUCKET, snapshot, execution_id=EXECUTION, inline_limit_bytes=200_000)
    assert (ref.snapshot, ref.snapshot_key, ref.endpoints) == (snapshot, None, len(snapshot.endpoints))
    assert s3.objects == {}
    assert load_snapshot(s3.client, BUCKET, ref) == snapshot


def test_a_snapshot_larger_than_its_share_of_the_state_goes_to_s3_and_only_the_key_travels(
    snapshot: ScanSnapshot,
) -> None:
    # GIVEN a fleet snapshot of 400 endpoints (about 1 MB), far over one state payload
    fleet = snapshot.model_copy(
        update={
            "endpoints": [
                item.model_copy(update={"endpoint": item.endpoint.model_copy(update={"name": f"ep-{i:04d}"})})
                for i in range(400)
                for item in snapshot.endpoints[:1]
            ]
        }
    )
    assert len(fleet.model_dump_json()) > STATE_LIMIT_BYTES
    s3 = FakeS3()
    # WHEN the scan stores it
    ref = store_snapshot(s3.client, BUCKET, fleet, execution_id=EXECUTION, inline_limit_bytes=200_000)
    # THEN the workflow carries a few hundred bytes: the key, the target and the count
    travelling = json.dumps(ref.model_dump(mode="json"))
    assert len(travelling) < 400
    assert ref.snapshot is None
    assert ref.snapshot_key == (
        "snapshots/endpoint-optimizer-optimize/daily-2026-11-30/123456789012-us-east-1.json"
    )
    assert ref.endpoints == 400
    # AND Analyze reads back exactly what was scanned
    assert s3.content_types[(BUCKET, ref.snapshot_key)] == "application/json"
    assert load_snapshot(s3.client, BUCKET, SnapshotRef.model_validate_json(travelling)) == fleet


def test_the_inline_limit_decides_with_the_reference_around_the_snapshot(snapshot: ScanSnapshot) -> None:
    size = len(
        json.dumps(
            SnapshotRef(account_id="1", region="r", endpoints=0, snapshot=snapshot).model_dump(mode="json")
        )
    )
    s3 = FakeS3()
    kept = store_snapshot(s3.client, BUCKET, snapshot, execution_id=EXECUTION, inline_limit_bytes=size + 100)
    moved = store_snapshot(s3.client, BUCKET, snapshot, execution_id=EXECUTION, inline_limit_bytes=size - 100)
    assert kept.snapshot is not None
    assert moved.snapshot_key is not None


def test_a_reference_holds_either_the_snapshot_or_its_key(snapshot: ScanSnapshot) -> None:
    with pytest.raises(ValueError, match="either the snapshot or its snapshot_key"):
        SnapshotRef(account_id="1", region="r", endpoints=1)
    with pytest.raises(ValueError, match="either the snapshot or its snapshot_key"):
        SnapshotRef(account_id="1", region="r", endpoints=1, snapshot=snapshot, snapshot_key="k")


def test_plans_are_stored_per_run_and_target_in_the_published_schema(snapshot: ScanSnapshot) -> None:
    s3 = FakeS3()
    plan, _ = analyze_target(snapshot, bundled_price_book(), policy(), NOW)
    key = store_plan(s3.client, BUCKET, plan, execution_id=EXECUTION, account_id="123456789012")
    assert key == plan_key(EXECUTION, "123456789012", "us-east-1")
    assert key.startswith("plans/endpoint-optimizer-optimize/daily-2026-11-30/")
    jsonschema.validate(json.loads(s3.objects[(BUCKET, key)]), plan_schema())
    assert load_plan(s3.client, BUCKET, key) == plan


@pytest.mark.parametrize(
    ("execution_id", "folder"),
    [
        (EXECUTION, "endpoint-optimizer-optimize/daily-2026-11-30"),
        ("manual test run", "manual/test/run"),
        ("", "unnamed"),
    ],
)
def test_each_run_writes_under_its_own_folder(execution_id: str, folder: str) -> None:
    assert run_folder(execution_id) == folder
