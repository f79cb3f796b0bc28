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

from endpoint_optimizer.act.approvals import BlockActions, handle_click, update_card
from endpoint_optimizer.act.slack_reject import (
    ReasonAsked,
    ReasonDialog,
    ReasonSubmission,
    SlackViews,
    ask_for_reason,
    is_bot_token,
    parse_request,
    reject_with_reason,
    submission_answer,
    update_rejected_card,
)
from endpoint_optimizer.act.slack_undo import apply_workflow_arn, handle_undo_click, update_summary
from endpoint_optimizer.infra import metric_names
from endpoint_optimizer.infra.clients import Clients, slack_answer_stepfunctions_client
from endpoint_optimizer.infra.observability import logger, metrics, record_decision, tracer
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
        metrics.add_metric(name=metric_names.SLACK_REQUESTS_REFUSED, unit="Count", value=1)
        logger.warning("refused an unverified Slack request", extra={"reason": str(refusal)})
        return _answer(HTTPStatus.UNAUTHORIZED, "invalid Slack signature or stale timestamp")
    try:
        interaction = parse_request(body)
    except (ValueError, ValidationError):
        return _answer(HTTPStatus.BAD_REQUEST, "not a Slack approval click or rejection reason")

    if isinstance(interaction, ReasonSubmission):  # the rejection modal's Reject
        return reason_submitted(interaction)
    if interaction.actions[0].action_id == slack.UNDO:  # the run summary's Undo button
        return undo_clicked(interaction)
    dialog = reason_dialog() if interaction.actions[0].action_id == slack.REJECT else None
    if dialog is None:  # no bot token: Reject rejects at once, without a reason
        outcome = handle_click(
            table,
            stepfunctions,
            interaction,
            approver_ids=settings.slack_approver_ids,
            now=datetime.now(UTC),
        )
    else:
        asked = ask_for_reason(
            table,
            stepfunctions,
            dialog,
            interaction,
            approver_ids=settings.slack_approver_ids,
            now=datetime.now(UTC),
        )
        if isinstance(asked, ReasonAsked):  # decided when the modal is submitted
            logger.info("asked for a rejection reason", extra={"user": interaction.user.id})
            return _answer(HTTPStatus.OK, "asked for a reason")
        outcome = asked
    record_decision(outcome.status, outcome.approval)  # approvals by outcome
    logger.info("slack click", extra={"status": outcome.status.value, "user": interaction.user.id})
    try:
        update_card(slack_cards, interaction, outcome)
    except Exception:  # the decision is made and recorded; a stale card is cosmetic
        logger.exception("could not update the Slack card")
    return _answer(outcome.status, outcome.message)


def reason_dialog() -> ReasonDialog | None:
    """The rejection-reason modal, when the optional bot token secret holds a bot token (read only on a
    Reject click; cached like the signing secret). Never logged."""
    if not settings.slack_bot_token_secret_arn:
        return None
    token = parameters.get_secret(settings.slack_bot_token_secret_arn, max_age=300)
    return SlackViews(token) if is_bot_token(token) else None


def reason_submitted(submission: ReasonSubmission) -> Response[Any]:
    """Reject with the modal's reason; answer 200 with no body (the modal closes), or with the error on
    the reason input (the modal stays open and says why)."""
    outcome = reject_with_reason(
        table, stepfunctions, submission, approver_ids=settings.slack_approver_ids, now=datetime.now(UTC)
    )
    record_decision(outcome.status, outcome.approval)  # approvals by outcome
    logger.info("slack rejection reason", extra={"status": outcome.status.value, "user": submission.user.id})
    try:
        update_rejected_card(slack_cards, submission, outcome)
    except Exception:  # the decision is made and recorded; a stale card is cosmetic
        logger.exception("could not update the Slack card")
    errors = submission_answer(outcome)
    if errors is None:
        return Response(status_code=HTTPStatus.OK.value, content_type="text/plain", body="")
    return Response(status_code=HTTPStatus.OK.value, content_type="application/json", body=errors)


def undo_clicked(interaction: BlockActions) -> Response[Any]:
    """Start the undo workflow once (execution undo-<action_id>) and update the summary's Undo line."""
    outcome = handle_undo_click(
        stepfunctions,
        interaction,
        approver_ids=settings.slack_approver_ids,
        apply_state_machine_arn=apply_workflow_arn(
            app.lambda_context.invoked_function_arn, settings.stack_name
        ),
    )
    logger.info("slack undo click", extra={"status": outcome.status.value, "user": interaction.user.id})
    try:
        update_summary(slack_cards, interaction, outcome)
    except Exception:  # the undo is started; a stale summary is cosmetic
        logger.exception("could not update the Slack summary")
    return _answer(outcome.status, outcome.message)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
