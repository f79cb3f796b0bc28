"""Find targets: the accounts and regions this run scans (TARGETS; empty = this stack's own)."""

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.infra import metric_names
from endpoint_optimizer.infra.events import TargetsRequest
from endpoint_optimizer.infra.observability import logger, metrics, tracer
from endpoint_optimizer.infra.settings import TargetsSettings
from endpoint_optimizer.infra.targets import targets_of_run

settings = TargetsSettings.from_env()  # a malformed TARGETS fails the cold start, naming TARGETS


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=TargetsRequest)
def handler(event: TargetsRequest, context: LambdaContext) -> dict[str, Any]:
    run = targets_of_run(
        settings.targets,
        home=settings.home,
        partition=settings.partition,
        role_name=settings.member_role_name,
        external_id=settings.member_external_id,
    )
    metrics.add_metric(name=metric_names.TARGETS, unit="Count", value=len(run.targets))
    logger.info("targets", extra={"targets": [target.label for target in run.targets]})
    return run.model_dump(mode="json")
