"""Request approval: lock the endpoint for this approval, keep the task token in DynamoDB under a short id,
and post the Slack card. If another approval of the endpoint is open, no card: the wait ends as skipped.

Also, after the apply: update the card with the outcome (this function holds the webhook secret)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from endpoint_optimizer.act.approvals import ApprovalSkipped, request_approval
from endpoint_optimizer.act.card_outcome import tell_card_outcome
from endpoint_optimizer.infra import metric_names
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import ApprovalRequest, CardOutcomeRequest
from endpoint_optimizer.infra.observability import logger, metrics, tracer
from endpoint_optimizer.infra.settings import RequestApprovalSettings
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.notify.slack import WebhookPoster

settings = RequestApprovalSettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)
_requests: TypeAdapter[ApprovalRequest | CardOutcomeRequest] = TypeAdapter(
    ApprovalRequest | CardOutcomeRequest
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = _requests.validate_python(raw)
    webhook_url = parameters.get_secret(settings.slack_webhook_secret_arn, max_age=300)
    if isinstance(event, CardOutcomeRequest):
        return card_outcome(event, WebhookPoster(webhook_url))
    requested = request_approval(
        table,
        clients.stepfunctions,
        WebhookPoster(webhook_url),
        event.action,
        task_token=event.task_token,
        now=datetime.now(UTC),
        approvers=settings.slack_approver_ids,
    )
    endpoint = event.action.finding.endpoint_name
    if isinstance(requested, ApprovalSkipped):
        metrics.add_metric(name=metric_names.APPROVALS_ALREADY_OPEN, unit="Count", value=1)
        logger.info("approval already open", extra={"endpoint": endpoint, "reason": requested.reason})
        return {"approval_id": None, "skipped": requested.reason}
    logger.info("approval requested", extra={"approval_id": requested.approval_id, "endpoint": endpoint})
    return {"approval_id": requested.approval_id}


def card_outcome(event: CardOutcomeRequest, poster: WebhookPoster) -> dict[str, Any]:
    """Best effort: the change is done whatever Slack says, so a failure is logged, never raised."""
    try:
        update = tell_card_outcome(table, poster, event.approval_id, event.result, now=datetime.now(UTC))
    except Exception:
        logger.exception(
            "could not tell the card the apply outcome", extra={"approval_id": event.approval_id}
        )
        return {"card": "not_updated"}
    logger.info("card told the outcome", extra={"approval_id": event.approval_id, "how": update.how})
    return {"card": update.how}
