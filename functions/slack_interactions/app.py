"""Slack interactions: verify the signature, authorise the user, decide the approval once, resume the workflow.

Answers Slack within its 3-second limit: one DynamoDB read, one conditional write, one Step Functions
call, and a best-effort card update with a 2-second timeout.
"""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from slack_sdk.signature import SignatureVerifier

from endpoint_optimizer import slack
from endpoint_optimizer.approvals import handle_click, parse_interaction
from endpoint_optimizer.aws import Clients
from endpoint_optimizer.ledger import StateTable
from endpoint_optimizer.observability import logger, metrics, tracer
from endpoint_optimizer.settings import SlackInteractionsSettings

settings = SlackInteractionsSettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)
app = APIGatewayHttpResolver()


def _answer(status: HTTPStatus, message: str) -> Response[Any]:
    return Response(status_code=status.value, content_type="application/json", body={"message": message})


@app.post("/slack/interactions")
def slack_interaction() -> Response[Any]:
    body = app.current_event.decoded_body or ""
    signing_secret = parameters.get_secret(settings.slack_signing_secret_arn, max_age=300)
    # slack-sdk checks the HMAC and refuses timestamps more than 5 minutes off (replays).
    if not SignatureVerifier(signing_secret).is_valid_request(body, dict(app.current_event.headers)):
        metrics.add_metric(name="SlackClicks401", unit="Count", value=1)
        return _answer(HTTPStatus.UNAUTHORIZED, "invalid Slack signature or stale timestamp")
    try:
        interaction = parse_interaction(body)
    except (ValueError, ValidationError):
        return _answer(HTTPStatus.BAD_REQUEST, "not a Slack block_actions approval click")

    outcome = handle_click(
        table,
        clients.stepfunctions,
        interaction,
        approver_ids=settings.slack_approver_ids,
        now=datetime.now(UTC),
    )
    metrics.add_metric(name=f"SlackClicks{outcome.status.value}", unit="Count", value=1)
    logger.info("slack click", extra={"status": outcome.status.value, "user": interaction.user.id})
    if outcome.approval is not None and interaction.response_url:
        finding = outcome.approval.finding
        try:
            slack.replace_message(
                interaction.response_url,
                text=outcome.message,
                blocks=slack.decided_card(
                    f"{finding.action.value} *{finding.endpoint_name}*", outcome.message
                ),
            )
        except Exception:  # the decision is made and recorded; a stale card is cosmetic
            logger.exception("could not update the Slack card")
    return _answer(outcome.status, outcome.message)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
