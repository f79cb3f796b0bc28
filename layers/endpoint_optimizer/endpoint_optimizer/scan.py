"""The scan stage: inventory plus metrics for one region of one account, as a snapshot."""

from __future__ import annotations

from datetime import datetime

from endpoint_optimizer.aws import Clients
from endpoint_optimizer.inventory import (
    describe_endpoint,
    list_endpoint_summaries,
    scalable_targets_by_resource,
)
from endpoint_optimizer.metrics import look_back_window, read_variant_metrics
from endpoint_optimizer.models import ScannedEndpoint, ScanSnapshot


def scan_region(clients: Clients, *, account_id: str, lookback_days: int, now: datetime) -> ScanSnapshot:
    region = clients.region
    summaries = list_endpoint_summaries(clients.sagemaker)
    targets = scalable_targets_by_resource(clients.autoscaling) if summaries else {}
    endpoints = [
        describe_endpoint(
            clients.sagemaker, summary, account_id=account_id, region=region, scalable_targets=targets
        )
        for summary in summaries
    ]
    start, end = look_back_window(now, lookback_days)
    metrics = read_variant_metrics(clients.cloudwatch, endpoints, start=start, end=end) if endpoints else {}
    return ScanSnapshot(
        account_id=account_id,
        region=region,
        scanned_at=now,
        lookback_days=lookback_days,
        endpoints=[
            ScannedEndpoint(endpoint=endpoint, metrics=metrics.get(endpoint.name, []))
            for endpoint in endpoints
        ],
    )
