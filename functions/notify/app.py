"""Notify: the run report (after Analyze) and the run summary (at the end) to SNS and Slack."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from endpoint_optimizer.infra import metric_names
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import NotifyRequest, ReportRequest
from endpoint_optimizer.infra.observability import logger, metrics, record_expired_approvals, tracer
from endpoint_optimizer.infra.settings import NotifySettings
from endpoint_optimizer.infra.stores import DynamoDBLedger
from endpoint_optimizer.notify.ledger_text import MonthSavings, month_so_far
from endpoint_optimizer.notify.messages import report_message, send, summary_message
from endpoint_optimizer.notify.slack import WebhookPoster

settings = NotifySettings.from_env()
clients = Clients()
ledger = DynamoDBLedger(clients.dynamodb, settings.table_name)


def _saved_this_month() -> MonthSavings | None:
    """The ledger's realised savings this month; a failed read drops the line, never the summary."""
    try:
        return month_so_far(ledger, datetime.now(UTC))
    except ClientError:
        logger.exception("could not read the ledger's month index; the summary goes without its savings")
        return None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=NotifyRequest)
def handler(event: NotifyRequest, context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, ReportRequest):
        message = report_message(
            event.plans,
            event.actions,
            event.deferred,
            top_findings=event.top_findings,
            unscanned=event.unscanned,
            later=event.later,
        )
    else:
        message = summary_message(
            event.plans,
            event.results,
            event.deferred,
            unscanned=event.unscanned,
            later=event.later,
            realised_month=_saved_this_month(),
        )
    webhook_url = parameters.get_secret(settings.slack_webhook_secret_arn, max_age=300)
    send(clients.sns, settings.topic_arn, WebhookPoster(webhook_url), message)
    metrics.add_metric(name=metric_names.MESSAGES_SENT, unit="Count", value=2)
    if not isinstance(event, ReportRequest):  # once per run, after it was sent (a retry sends again)
        record_expired_approvals(event.results)
    return {"subject": message.subject, "text": message.text}
