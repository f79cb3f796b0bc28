"""Request approval: keep the task token in DynamoDB under a short id and post the Slack card."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_optimizer.approvals import request_approval
from endpoint_optimizer.aws import Clients
from endpoint_optimizer.ledger import StateTable
from endpoint_optimizer.observability import logger, metrics, tracer
from endpoint_optimizer.requests import ApprovalRequest
from endpoint_optimizer.settings import RequestApprovalSettings

settings = RequestApprovalSettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ApprovalRequest)
def handler(event: ApprovalRequest, context: LambdaContext) -> dict[str, Any]:
    webhook_url = parameters.get_secret(settings.slack_webhook_secret_arn, max_age=300)
    approval = request_approval(
        table, webhook_url, event.action, task_token=event.task_token, now=datetime.now(UTC)
    )
    logger.info(
        "approval requested",
        extra={"approval_id": approval.approval_id, "endpoint": approval.finding.endpoint_name},
    )
    return {"approval_id": approval.approval_id}
