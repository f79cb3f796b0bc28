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

from endpoint_optimizer.actions import apply_action
from endpoint_optimizer.aws import Clients
from endpoint_optimizer.ledger import StateTable
from endpoint_optimizer.models import ActionResult, ProposedAction
from endpoint_optimizer.observability import account_id_of, logger, metrics, tracer
from endpoint_optimizer.requests import ApplyRequest
from endpoint_optimizer.settings import ApplySettings

settings = ApplySettings.from_env()
clients = Clients()
table = StateTable(clients.dynamodb, settings.table_name)
persistence = DynamoDBPersistenceLayer(
    table_name=settings.table_name, key_attr="pk", sort_key_attr="sk", boto3_client=clients.dynamodb
)
idempotency = IdempotencyConfig(event_key_jmespath="action_id", expires_after_seconds=7 * 24 * 3600)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="action",
    persistence_store=persistence,
    config=idempotency,
    output_serializer=PydanticSerializer,
)
def apply_once(action: ProposedAction, home: tuple[str, str]) -> ActionResult:
    return apply_action(
        clients.sagemaker,
        clients.autoscaling,
        table,
        action,
        skip_tag_key=settings.skip_tag_key,
        approved_by=action.approval.approved_by if action.approval else None,
        now=datetime.now(UTC),
        home=home,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ApplyRequest)
def handler(event: ApplyRequest, context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    # This function acts only in its own account and region (its IAM is scoped to them).
    home = (account_id_of(context.invoked_function_arn), context.invoked_function_arn.split(":")[3])
    result: ActionResult = apply_once(action=event.action, home=home)
    metrics.add_metric(name="ActionsApplied", unit="Count", value=1 if result.outcome == "applied" else 0)
    logger.info("applied", extra={"endpoint": result.endpoint_name, "outcome": result.outcome})
    return result.model_dump(mode="json")
