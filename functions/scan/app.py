"""Scan one target (an account and a region) -> its snapshot, inline or as an S3 key if too large."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.infra import metric_names
from endpoint_optimizer.infra.artifacts import store_snapshot
from endpoint_optimizer.infra.clients import Clients, clients_for_target, role_session_name, scan_failure
from endpoint_optimizer.infra.events import ScanRequest
from endpoint_optimizer.infra.observability import MetricSeriesCounter, logger, metrics, record_scan, tracer
from endpoint_optimizer.infra.settings import ScanSettings
from endpoint_optimizer.scan.region import scan_region
from endpoint_optimizer.scan.state import DynamoDBScanState

SAFETY_MARGIN_S = 30.0
settings = ScanSettings.from_env()
clients = Clients(region=settings.region)  # this function's own: STS (member roles) and S3 (snapshots)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ScanRequest)
def handler(event: ScanRequest, context: LambdaContext) -> dict[str, Any]:
    target = event.target
    try:
        target_clients = clients_for_target(
            target, clients.sts, session_name=role_session_name(event.execution_id)
        )
        series = MetricSeriesCounter(target_clients.cloudwatch)
        snapshot = scan_region(
            target_clients,
            account_id=target.account_id,
            lookback_days=settings.lookback_days,
            now=datetime.now(UTC),
            state=DynamoDBScanState(clients.dynamodb, settings.table_name, target.account_id, target.region),
            max_workers=settings.max_workers,
            # Stop starting work with time left to save the state and store the snapshot.
            time_budget_s=max(1.0, context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_S),
        )
    except (BotoCoreError, ClientError) as error:
        # AWS refused or failed this target (no member role, wrong external id, region not enabled...):
        # recorded for the report, the other targets are still scanned, and the run ends failed.
        logger.exception("target not scanned", extra={"target": target.label})
        metrics.add_metric(name=metric_names.TARGETS_NOT_SCANNED, unit="Count", value=1)
        return scan_failure(target, error).model_dump(mode="json")
    ref = store_snapshot(
        clients.s3,
        settings.artifact_bucket,
        snapshot,
        execution_id=event.execution_id,
        inline_limit_bytes=event.inline_limit_bytes,
    )
    series.close()
    record_scan(metrics, snapshot, series_read=series.series)
    logger.info(
        "scanned",
        extra={"target": target.label, "endpoints": ref.endpoints, "snapshot_key": ref.snapshot_key},
    )
    return ref.model_dump(mode="json")
