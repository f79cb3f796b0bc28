"""Apply one approved action: snapshot, change, verify, ledger. Idempotent per action id."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.act.park import ActionRefused, apply_action, recover, refused
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import ApplyOrRecover, RecoverRequest
from endpoint_optimizer.infra.observability import account_id_of, logger, metrics, tracer
from endpoint_optimizer.infra.settings import ApplySettings
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import ActionResult, ProposedAction

settings = ApplySettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)
# With a sort key, Powertools puts every record under one partition key (default "idempotency#<function
# name>", unknown to the template): fixed here so the role's dynamodb:LeadingKeys can name it (template.yaml).
persistence = DynamoDBPersistenceLayer(
    table_name=settings.table_name,
    key_attr="pk",
    sort_key_attr="sk",
    static_pk_value="IDEMPOTENCY#apply",
    boto3_client=clients.dynamodb,
)
idempotency = IdempotencyConfig(event_key_jmespath="action_id", expires_after_seconds=7 * 24 * 3600)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="action",
    persistence_store=persistence,
    config=idempotency,
    output_serializer=PydanticSerializer,
)
def apply_once(action: ProposedAction, home: tuple[str, str]) -> ActionResult:
    try:
        return apply_action(
            clients.sagemaker,
            clients.autoscaling,
            clients.cloudwatch,
            table,
            action,
            mode=settings.mode,
            skip_tag_key=settings.skip_tag_key,
            approved_by=action.approval.approved_by if action.approval else None,
            now=datetime.now(UTC),
            home=home,
        )
    except ActionRefused as refusal:  # nothing was touched: an answer for the run's summary
        return refused(action, str(refusal))


def release_lock(action: ProposedAction) -> None:
    """End the approval's hold on the endpoint (LOCK#, taken when its card was posted), so the next runs may
    propose it again. Only that approval's lock; best effort: an unreleased lock expires by itself."""
    if action.approval is None:  # auto mode: no card, no lock
        return
    finding = action.finding
    try:
        table.release_lock(
            finding.account_id, finding.region, finding.endpoint_name, approval_id=action.approval.approval_id
        )
    except (BotoCoreError, ClientError):
        logger.exception("could not release the approval lock", extra={"endpoint": finding.endpoint_name})


def recover_once(event: RecoverRequest) -> ActionResult:
    error = event.error.get("Cause") or event.error.get("Error") or "apply failed"
    return recover(
        clients.sagemaker,
        clients.autoscaling,
        table,
        event.action,
        error=str(error)[:500],
        approved_by=event.action.approval.approved_by if event.action.approval else None,
        now=datetime.now(UTC),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ApplyOrRecover)
def handler(event: ApplyOrRecover, context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    if isinstance(event, RecoverRequest):
        try:
            result = recover_once(event)
        finally:  # the last step of a failed apply: the approval's hold on the endpoint ends here
            release_lock(event.action)
    else:
        # This function acts only in its own account and region (its IAM is scoped to them).
        home = (account_id_of(context.invoked_function_arn), context.invoked_function_arn.split(":")[3])
        result = apply_once(action=event.action, home=home)
        # Applied, skipped or refused: the approval is used. (If apply raised, "Finish or undo the
        # change" runs next and releases it then.)
        release_lock(event.action)
    metrics.add_metric(name="ActionsApplied", unit="Count", value=1 if result.outcome == "applied" else 0)
    logger.info("applied", extra={"endpoint": result.endpoint_name, "outcome": result.outcome})
    return result.model_dump(mode="json")
