"""Unit-test fixtures: the sample snapshot, an in-process moto DynamoDB table shaped like the stack's state
table, and a fleet of targets around this stack's home analyzed as the Analyze Lambda does (on a fake S3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from endpoint_optimizer.analysis import analyze_fleet
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.artifacts import load_plan, store_snapshot
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.targets import Home
from endpoint_optimizer.models import FleetAnalysis, Holds, Plan, ScanFailure, ScanSnapshot
from tests.conftest import NOW, policy, sample_snapshot
from tests.unit.fake_s3 import FakeS3

BUCKET = "artifacts"
HOME_ACCOUNT = "123456789012"  # the sample fleet's account: this stack's
MEMBER = "210987654321"
HOME = Home(account_id=HOME_ACCOUNT, region="us-east-1")
RUN = "arn:aws:states:us-east-1:123456789012:execution:endpoint-optimizer-optimize:run-1"


@pytest.fixture
def snapshot() -> ScanSnapshot:
    return sample_snapshot()


def elsewhere(account_id: str, region: str, prefix: str, copies: int = 1) -> ScanSnapshot:
    """The sample fleet as if it ran in another account or region (names prefixed)."""
    base = sample_snapshot()
    endpoints = [
        item.model_copy(
            update={
                "endpoint": item.endpoint.model_copy(
                    update={
                        "name": f"{prefix}{index or ''}-{item.endpoint.name}",
                        "account_id": account_id,
                        "region": region,
                    }
                )
            }
        )
        for index in range(copies)
        for item in base.endpoints
    ]
    return base.model_copy(update={"account_id": account_id, "region": region, "endpoints": endpoints})


def analyze_targets(
    s3: FakeS3,
    *snapshots: ScanSnapshot | ScanFailure,
    chosen: Policy | None = None,
    holds: Holds | None = None,
) -> FleetAnalysis:
    """The Analyze Lambda's analysis of `snapshots` (stored as the Scan Lambda stores them: inline when
    small, else in S3) at NOW from this stack's HOME; `holds` as the state table would read them."""
    scans = [
        item
        if isinstance(item, ScanFailure)
        else store_snapshot(s3.client, BUCKET, item, execution_id=RUN, inline_limit_bytes=50_000)
        for item in snapshots
    ]
    return analyze_fleet(
        s3.client,
        BUCKET,
        scans,
        prices=bundled_price_book(),
        policy=chosen or policy(),
        now=NOW,
        run_id=RUN,
        home=HOME,
        read_holds=None if holds is None else (lambda findings: holds),
    )


def plans_of(s3: FakeS3, analysis: FleetAnalysis) -> list[Plan]:
    """Each target's whole plan, as Analyze stored it in S3."""
    return [load_plan(s3.client, BUCKET, summary.plan_key) for summary in analysis.plans]


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A DynamoDB client with the state table `state` (pk/sk, on demand), as template.yaml declares it."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="state",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
