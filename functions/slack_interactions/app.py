"""Slack interactions: verify the signature, authorise the user, decide the approval once, resume the workflow.

Answers Slack within its 3-second limit: one DynamoDB read, one conditional write, one Step Functions
call (its own client: connect 1 s, read 2 s, 2 attempts), and a best-effort card update with a 2-second
timeout. A request that cannot be verified, however malformed, is a 401 and changes nothing.
"""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from endpoint_optimizer.act.approvals import handle_click, parse_interaction, update_card
from endpoint_optimizer.infra.clients import Clients, slack_answer_stepfunctions_client
from endpoint_optimizer.infra.observability import logger, metrics, tracer
from endpoint_optimizer.infra.settings import SlackInteractionsSettings
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.notify import slack

settings = SlackInteractionsSettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)
# Not clients.stepfunctions: the shared configuration waits up to 30 s and tries 10 times.
stepfunctions = slack_answer_stepfunctions_client()
# No incoming webhook here: this function only updates the card a click came from (its response_url).
slack_cards = slack.WebhookPoster()
app = APIGatewayHttpResolver()


def _answer(status: HTTPStatus, message: str) -> Response[Any]:
    return Response(status_code=status.value, content_type="application/json", body={"message": message})


@app.post("/slack/interactions")
def slack_interaction() -> Response[Any]:
    event = app.current_event
    signing_secret = parameters.get_secret(settings.slack_signing_secret_arn, max_age=300)
    try:
        # slack-sdk checks the HMAC and refuses timestamps more than 5 minutes off (replays).
        body = slack.verified_body(
            signing_secret,
            body=event.get("body"),
            is_base64_encoded=bool(event.get("isBase64Encoded")),
            headers=event.get("headers"),
            now=datetime.now(UTC),
        )
    except slack.UnverifiedRequest as refusal:
        metrics.add_metric(name="SlackClicks401", unit="Count", value=1)
        logger.warning("refused an unverified Slack request", extra={"reason": str(refusal)})
        return _answer(HTTPStatus.UNAUTHORIZED, "invalid Slack signature or stale timestamp")
    try:
        interaction = parse_interaction(body)
    except (ValueError, ValidationError):
        return _answer(HTTPStatus.BAD_REQUEST, "not a Slack block_actions approval click")

    outcome = handle_click(
        table,
        stepfunctions,
        interaction,
        approver_ids=settings.slack_approver_ids,
        now=datetime.now(UTC),
    )
    metrics.add_metric(name=f"SlackClicks{outcome.status.value}", unit="Count", value=1)
    logger.info("slack click", extra={"status": outcome.status.value, "user": interaction.user.id})
    try:
        update_card(slack_cards, interaction, outcome)
    except Exception:  # the decision is made and recorded; a stale card is cosmetic
        logger.exception("could not update the Slack card")
    return _answer(outcome.status, outcome.message)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
