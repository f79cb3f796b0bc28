"""Analyze: snapshot + policy + prices -> plan (every endpoint once) and the actions to take this run."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.decisions import analyze
from endpoint_optimizer.observability import logger, metrics, tracer
from endpoint_optimizer.pricing import bundled_price_book
from endpoint_optimizer.requests import AnalyzeRequest
from endpoint_optimizer.settings import Policy

policy = Policy.from_env()
prices = bundled_price_book()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=AnalyzeRequest)
def handler(event: AnalyzeRequest, context: LambdaContext) -> dict[str, Any]:
    analysis = analyze(event.snapshot, prices, policy, datetime.now(UTC), run_id=event.execution_id)
    metrics.add_metric(name="ActionsProposed", unit="Count", value=len(analysis.actions))
    logger.info("analyzed", extra={"findings": len(analysis.plan.findings), "actions": len(analysis.actions)})
    return analysis.model_dump(mode="json")
