"""Request approval: lock the endpoint for this approval, keep the task token in DynamoDB under a short id,
and post the Slack card. If another approval of the endpoint is open, no card: the wait ends as skipped."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.act.approvals import ApprovalSkipped, request_approval
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import ApprovalRequest
from endpoint_optimizer.infra.observability import logger, metrics, tracer
from endpoint_optimizer.infra.settings import RequestApprovalSettings
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.notify.slack import WebhookPoster

settings = RequestApprovalSettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ApprovalRequest)
def handler(event: ApprovalRequest, context: LambdaContext) -> dict[str, Any]:
    webhook_url = parameters.get_secret(settings.slack_webhook_secret_arn, max_age=300)
    requested = request_approval(
        table,
        clients.stepfunctions,
        WebhookPoster(webhook_url),
        event.action,
        task_token=event.task_token,
        now=datetime.now(UTC),
    )
    endpoint = event.action.finding.endpoint_name
    if isinstance(requested, ApprovalSkipped):
        metrics.add_metric(name="ApprovalsAlreadyOpen", unit="Count", value=1)
        logger.info("approval already open", extra={"endpoint": endpoint, "reason": requested.reason})
        return {"approval_id": None, "skipped": requested.reason}
    logger.info("approval requested", extra={"approval_id": requested.approval_id, "endpoint": endpoint})
    return {"approval_id": requested.approval_id}
