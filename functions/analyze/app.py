"""Analyze: every target's snapshot + policy + prices -> one plan per target in S3, and this run's actions."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.analysis import analyze_fleet
from endpoint_optimizer.decide.pricing import PriceBook, live_price_book
from endpoint_optimizer.infra.clients import Clients, pricing_client
from endpoint_optimizer.infra.events import AnalyzeRequest
from endpoint_optimizer.infra.observability import logger, metrics, record_analysis, tracer
from endpoint_optimizer.infra.price_cache import DynamoDBPriceCache
from endpoint_optimizer.infra.settings import AnalyzeSettings, Policy
from endpoint_optimizer.infra.stores import StateTable

policy = Policy.from_env()
settings = AnalyzeSettings.from_env()
clients = Clients(region=settings.region)
pricing = pricing_client()
table = StateTable(clients.dynamodb, settings.table_name)  # open approvals and rejections (read only)


def price_book(regions: list[str]) -> PriceBook:
    """Live prices for the scanned regions (cached a day in DynamoDB), less the negotiated discount."""
    book = live_price_book(
        pricing,
        regions,
        DynamoDBPriceCache(clients.dynamodb, settings.table_name, regions),
        datetime.now(UTC),
    )
    return book.with_discount(settings.price_discount_percent) if settings.price_discount_percent else book


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=AnalyzeRequest)
def handler(event: AnalyzeRequest, context: LambdaContext) -> dict[str, Any]:
    analysis = analyze_fleet(
        clients.s3,
        settings.artifact_bucket,
        event.scans,
        prices=price_book(sorted({scan.region for scan in event.scans})),
        policy=policy,
        now=datetime.now(UTC),
        run_id=event.execution_id,
        home=settings.home,
        read_holds=table.holds_for,  # endpoints with an open approval or a recent rejection wait
        recommender_spend_usd=settings.max_recommender_spend_usd,  # the moves benchmarked this run
    )
    record_analysis(metrics, analysis)  # findings by action, proposed savings, actions proposed
    logger.info(
        "analyzed",
        extra={
            "targets": len(analysis.plans),
            "unscanned": len(analysis.unscanned),
            "endpoints": sum(plan.endpoints for plan in analysis.plans),
            "actions": len(analysis.actions),
            "deferred": analysis.later.deferred_total,
            "waiting": analysis.later.waiting_total,
        },
    )
    return analysis.model_dump(mode="json")
