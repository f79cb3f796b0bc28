"""Recommend: one step of confirming a move with Inference Recommender (start, poll, stop, finish), or
folding the run's confirmations into its plans (merge). The waiting is the workflow's."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.analysis import fold_confirmations
from endpoint_optimizer.confirm import workflow
from endpoint_optimizer.infra import metric_names
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import (
    FoldConfirmations,
    RecommendRequest,
    StartRecommenderJob,
)
from endpoint_optimizer.infra.observability import logger, metrics, tracer
from endpoint_optimizer.infra.settings import RecommendSettings

settings = RecommendSettings.from_env()
clients = Clients(region=settings.region)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RecommendRequest)
def handler(event: RecommendRequest, context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    if isinstance(event, StartRecommenderJob):
        job = workflow.start(
            clients.sagemaker, clients.s3, clients.cloudwatch, event.item, settings=settings, now=now
        )
        logger.info("started", extra={"endpoint": event.item.finding.endpoint_name, "job": job.job_name})
        return job.model_dump(mode="json")
    if isinstance(event, FoldConfirmations):
        analysis = fold_confirmations(
            clients.s3,
            settings.artifact_bucket,
            event.analysis,
            event.confirmations,
            run_id=event.execution_id,
        )
        metrics.add_metric(name=metric_names.MOVES_CONFIRMED, unit="Count", value=len(event.confirmations))
        return analysis.model_dump(mode="json")
    if event.step == "poll":
        return workflow.poll(clients.sagemaker, event.job, settings=settings, now=now).model_dump(mode="json")
    if event.step == "stop":
        logger.warning("deadline passed: stopping", extra={"job": event.job.job_name})
        return workflow.stop(clients.sagemaker, event.job).model_dump(mode="json")
    confirmed = workflow.finish(clients.sagemaker, event.job)
    logger.info("confirmed", extra={"endpoint": confirmed.finding.endpoint_name, "status": event.job.status})
    return confirmed.model_dump(mode="json")
