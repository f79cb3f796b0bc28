"""The steps of the apply workflow (statemachines/apply.asl.json): each takes the workflow's state and returns
it with its part filled in. Start is idempotent per action id; every other step is idempotent by itself."""

import json
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

from endpoint_optimizer.act import apply, night
from endpoint_optimizer.act.schedule import NightParkSetup, ScheduleSteps
from endpoint_optimizer.act.slack_undo import apply_workflow_arn
from endpoint_optimizer.act.steps import ChangeSteps
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.events import ApplyStepRequest, NightStepRequest, UndoStepRequest
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
from endpoint_optimizer.models.change import ApplyState, Change, NightState, UndoRequest, UndoState
from endpoint_optimizer.registry import applies_without_approval
from endpoint_optimizer.registry import steps_for as registered_steps

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
# Night parking, when the stack provides it (act/schedule.py): the schedule rung's steps carry the setup. The
# apply workflow is <stack>-apply in the scheduler role's partition and account and this function's region.
NIGHT = (
    NightParkSetup(
        schedule_group=settings.night_schedule_group,
        scheduler_role_arn=settings.night_scheduler_role_arn,
        apply_state_machine_arn=apply_workflow_arn(
            f"arn:{settings.night_scheduler_role_arn.split(':')[1]}:lambda:{clients.region}:"
            f"{settings.night_scheduler_role_arn.split(':')[4]}:function:apply",
            settings.stack_name,
        ),
        state_table=settings.table_name,
    )
    if settings.night_schedule_group and settings.night_scheduler_role_arn and settings.stack_name
    else None
)


def steps_for(action: Action) -> ChangeSteps | None:
    """The registry's steps, the schedule rung's with this stack's night-parking setup."""
    steps = registered_steps(action)
    return ScheduleSteps(night=NIGHT) if isinstance(steps, ScheduleSteps) else steps


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
    """What went wrong, for a person: a Lambda error's Cause is its JSON error payload, of which the
    message is what a reader needs (the stack trace is in the function's logs)."""
    error = state.error or {}
    cause = str(error.get("Cause") or "")
    try:
        payload = json.loads(cause)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and payload.get("errorMessage"):
        cause = str(payload["errorMessage"])
    return (cause or str(error.get("Error") or "apply failed"))[:500]


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
    """The undo path (the run summary's Undo button): Start undo -> Roll back for the undo -> Check undo -> Record
    undo. A refusal
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
        if request.step == "undo_roll_back" and state.change is not None:
            return state.model_copy(
                update={"change": apply.undo_roll_back(clients, table, steps, state.change)}
            )
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


def run_night_step(request: NightStepRequest) -> NightState:
    """The night path: park for the night (one step), or restore in the morning (called again after the
    workflow's Wait until the endpoint is back; past the deadline it fails, and the apply-failed alarm says so)."""
    state = request.state
    now = datetime.now(UTC)
    if state.night.step == "park":
        result = night.park_tonight(
            clients, table, state.night, mode=settings.mode, skip_tag_key=settings.skip_tag_key, now=now
        )
        return state.model_copy(update={"result": result})
    deadline = state.deadline or now + MAX_WAIT
    if now >= deadline:
        raise RuntimeError(
            f"{state.night.endpoint_name} was not back by {deadline.isoformat()}: "
            f"endpoint-optimizer restore {state.night.endpoint_name}"
        )
    restored = night.restore_morning(clients, table, state.night, now=now)
    return state.model_copy(
        update={"result": restored, "deadline": deadline, "wait_seconds": settings.poll_seconds}
    )


_requests: TypeAdapter[ApplyStepRequest | UndoStepRequest | NightStepRequest] = TypeAdapter(
    ApplyStepRequest | UndoStepRequest | NightStepRequest
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    request = _requests.validate_python(raw)
    if isinstance(request, NightStepRequest):
        done = run_night_step(request)
        if done.result is not None:
            logger.info(
                "night step finished",
                extra={
                    "endpoint": done.night.endpoint_name,
                    "step": done.night.step,
                    "outcome": done.result.outcome,
                },
            )
        return done.model_dump(mode="json")
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
