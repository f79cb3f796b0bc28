"""Scan: inventory and metrics of every endpoint in this function's region -> snapshot."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.aws import Clients
from endpoint_optimizer.observability import account_id_of, logger, metrics, tracer
from endpoint_optimizer.requests import ScanRequest
from endpoint_optimizer.scan import scan_region
from endpoint_optimizer.settings import ScanSettings

settings = ScanSettings.from_env()
clients = Clients(region=settings.region)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ScanRequest)
def handler(event: ScanRequest, context: LambdaContext) -> dict[str, Any]:
    snapshot = scan_region(
        clients,
        account_id=account_id_of(context.invoked_function_arn),
        lookback_days=settings.lookback_days,
        now=datetime.now(UTC),
    )
    metrics.add_metric(name="EndpointsScanned", unit="Count", value=len(snapshot.endpoints))
    logger.info("scanned", extra={"endpoints": len(snapshot.endpoints), "region": snapshot.region})
    return snapshot.model_dump(mode="json")
