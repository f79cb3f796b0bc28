"""The steps of the apply workflow (statemachines/apply.asl.json): each takes the workflow's state and returns
it with its part filled in. Start is idempotent per action id; every other step is idempotent by itself."""

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter

from endpoint_optimizer.act import apply
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import ApplyStepRequest, UndoStepRequest
from endpoint_optimizer.infra.observability import (
    account_id_of,
    logger,
    metrics,
    record_apply_result,
    record_undo_result,
    tracer,
)
from endpoint_optimizer.infra.settings import ApplySettings
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import Action, ActionResult, LedgerEntry, ProposedAction
from endpoint_optimizer.models.change import ApplyState, Change, UndoRequest, UndoState
from endpoint_optimizer.registry import applies_without_approval, steps_for

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
MAX_WAIT = timedelta(minutes=settings.max_wait_minutes)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="action",
    persistence_store=persistence,
    config=idempotency,
    output_serializer=PydanticSerializer,
)
def start_once(action: ProposedAction, home: tuple[str, str]) -> Change:
    return apply.start(
        clients,
        table,
        action,
        steps=steps_for(action.finding.action),
        mode=settings.mode,
        auto_applies=applies_without_approval(action.finding.action),
        skip_tag_key=settings.skip_tag_key,
        now=datetime.now(UTC),
        home=home,
        wait_seconds=settings.poll_seconds,
        max_wait=MAX_WAIT,
    )


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


def _error_text(state: ApplyState) -> str:
    error = state.error or {}
    return str(error.get("Cause") or error.get("Error") or "apply failed")[:500]


def run_step(request: ApplyStepRequest, home: tuple[str, str]) -> ApplyState:
    state = request.state
    action = state.action
    steps = steps_for(action.finding.action)
    now = datetime.now(UTC)
    change = state.change
    if request.step == "start":
        change = start_once(action=action, home=home)
        return state.model_copy(update={"change": change, "result": change.result})
    if request.step == "roll_back":
        change = apply.roll_back(
            clients,
            table,
            steps,
            action,
            change,
            error=_error_text(state),
            now=now,
            wait_seconds=settings.poll_seconds,
            max_wait=MAX_WAIT,
        )
        return state.model_copy(update={"change": change, "result": change.result})
    if change is None or steps is None:  # the workflow passes Start's change to every later step
        raise ValueError(f"step {request.step} needs the change Start made")
    if request.step == "act":
        return state.model_copy(update={"change": apply.act(clients, table, steps, change)})
    if request.step == "progress":
        return state.model_copy(update={"progress": apply.progress(clients, steps, change, now=now)})
    if request.step == "verify":
        return state.model_copy(
            update={"result": apply.verify(clients, table, steps, action, change, now=now)}
        )
    if request.step == "rollback_progress":
        seen = apply.rollback_progress(clients, table, steps, change, now=now)
        return state.model_copy(update={"progress": seen})
    result = apply.record_rollback(clients, table, steps, action, change, error=_error_text(state), now=now)
    return state.model_copy(update={"result": result})


def run_undo_step(request: UndoStepRequest) -> UndoState:
    """The undo path (the run summary's Undo button): Start undo -> Check undo -> Record undo. A refusal
    (already undone, changed since) is the execution's result, not a failure."""
    state, undo = request.state, request.state.undo
    now = datetime.now(UTC)
    action = state.change.action if state.change else Action.NONE
    try:
        if request.step == "undo_record" and (
            recorded := apply.undone_entry(table, undo.endpoint_name, undo.action_id)
        ):  # a retry of Record undo whose reply was lost: done already
            return state.model_copy(update={"result": _undone(undo, recorded)})
        entry = apply.applied_change(table, undo.endpoint_name, undo.action_id)
        action = Action(entry.action)
        steps = steps_for(Action(entry.action))
        if steps is None:
            raise apply.UndoRefused(
                f"{entry.action} is brought back by `endpoint-optimizer restore {undo.endpoint_name}`"
            )
        if request.step == "undo_start":
            change = apply.undo_start(
                clients, table, steps, entry, now=now, wait_seconds=settings.poll_seconds, max_wait=MAX_WAIT
            )
            return state.model_copy(update={"change": change})
        if request.step == "undo_progress" and state.change is not None:
            seen = apply.undo_progress(clients, table, steps, state.change, now=now)
            return state.model_copy(update={"progress": seen})
        if state.change is None:
            raise ValueError(f"step {request.step} needs the change undo_start made")
        return state.model_copy(
            update={"result": _undone(undo, apply.undo_record(clients, table, steps, entry, now=now))}
        )
    except apply.UndoRefused as refusal:
        refused = ActionResult(
            endpoint_name=undo.endpoint_name,
            action=action,
            outcome="refused",
            detail=str(refusal)[:500],
            action_id=undo.action_id,
        )
        return state.model_copy(update={"result": refused})


def _undone(undo: UndoRequest, entry: LedgerEntry) -> ActionResult:
    return ActionResult(
        endpoint_name=undo.endpoint_name,
        action=Action(entry.action),
        outcome="undone",
        detail=f"{entry.detail} (asked by {undo.requested_by})"[:500],
        action_id=undo.action_id,
    )


_requests: TypeAdapter[ApplyStepRequest | UndoStepRequest] = TypeAdapter(ApplyStepRequest | UndoStepRequest)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    request = _requests.validate_python(raw)
    if isinstance(request, UndoStepRequest):
        undone = run_undo_step(request)
        if undone.result is not None:
            record_undo_result(undone.result)  # applies by outcome: undone
            logger.info(
                "undo finished",
                extra={"endpoint": undone.undo.endpoint_name, "outcome": undone.result.outcome},
            )
        return undone.model_dump(mode="json")
    event = request
    # This function acts only in its own account and region (its IAM is scoped to them).
    home = (account_id_of(context.invoked_function_arn), context.invoked_function_arn.split(":")[3])
    state = run_step(event, home)
    if state.result is not None:  # the change's last step: the approval's hold on the endpoint ends here
        release_lock(state.action)
        outcome = state.result.outcome
        record_apply_result(metrics, state.result)  # applies and rollbacks by outcome, realised savings
        logger.info("apply finished", extra={"endpoint": state.result.endpoint_name, "outcome": outcome})
    return state.model_dump(mode="json")
