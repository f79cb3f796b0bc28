"""Changes to endpoints, each with a re-check first, a snapshot, an intent record and a way back.

`park`: re-check what the scan saw (status, LastModifiedTime, config, skip tag, traffic since the scan)
-> snapshot (endpoint config and models whole, tags, autoscaling) -> intent -> deregister scalable
targets -> DeleteEndpoint, keeping config and model -> verify gone -> ledger. `recover` is the workflow's
Catch: it finishes or rolls back a change that died half-way, from its intent. `restore` brings a
parked endpoint back from the snapshot its park recorded, recreating a deleted config or model; it is
resumable (an endpoint that is back but lacks its autoscaling gets it replayed).

Invariant (tests/unit/test_park_faults.py): whatever call fails, dies or loses its reply, the endpoint
ends serving as before with its autoscaling, or parked with a snapshot that restores it identically.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from endpoint_optimizer.infra.table import ApprovalNotFound, StateTable
from endpoint_optimizer.models import (
    Action,
    ActionResult,
    ApprovalState,
    Finding,
    Intent,
    LedgerEntry,
    ProposedAction,
    ScalableTarget,
    Snapshot,
    Variant,
)
from endpoint_optimizer.scan.inventory import variant_resource_id
from endpoint_optimizer.scan.metrics import invocations_since

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient


class ActionRefused(RuntimeError):
    """The endpoint is not what the scan saw, or the action is not this function's to take; nothing
    was touched."""


class RestoreFailed(RuntimeError):
    pass


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_missing(error: ClientError) -> bool:
    """SageMaker says "Could not find endpoint/model/endpoint configuration" as a ValidationException."""
    message = error.response.get("Error", {}).get("Message", "")
    return _error_code(error) == "ValidationException" and "Could not find" in message


def _endpoint_status(sagemaker: SageMakerClient, name: str) -> str | None:
    """The endpoint's status, None when it does not exist; any other error propagates (unknown)."""
    try:
        return sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]
    except ClientError as error:
        if _is_missing(error):
            return None
        raise


def _gone_or_deleting(sagemaker: SageMakerClient, name: str) -> bool:
    return _endpoint_status(sagemaker, name) in (None, "Deleting")


def _body(described: Any) -> dict[str, Any]:
    """A Describe response as plain JSON (datetimes as ISO strings), without ResponseMetadata."""
    kept: dict[str, Any] = json.loads(
        json.dumps({k: v for k, v in dict(described).items() if k != "ResponseMetadata"}, default=str)
    )
    return kept


def _request(sagemaker: SageMakerClient, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """The members of a Describe body that `operation` takes back, by the botocore model's input shape
    (so a field AWS adds to both is carried without a hand-kept list)."""
    shape = sagemaker.meta.service_model.operation_model(operation).input_shape
    members = shape.members if shape is not None else {}
    return {key: _pruned(value) for key, value in body.items() if key in members and not _empty(value)}


def _empty(value: Any) -> bool:
    return value is None or value in ({}, [])


def _pruned(value: Any) -> Any:
    """Without empty members: a Describe may echo `VpcConfig: {}`, which Create refuses as incomplete."""
    if isinstance(value, dict):
        return {key: _pruned(item) for key, item in value.items() if not _empty(item)}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


# ---- re-check: never act on a stale signal -----------------------------------------------------------
# Actions that rest on "no traffic": any invocation since the scan refuses them.
IDLE_ACTIONS = (Action.PARK, Action.SCALE_TO_ZERO)


def recheck(
    sagemaker: SageMakerClient,
    cloudwatch: CloudWatchClient,
    finding: Finding,
    described: dict[str, Any],
    tags: dict[str, str],
    *,
    skip_tag_key: str,
    now: datetime,
) -> None:
    """Compare the endpoint as it is now with what the scan saw, and read its traffic since the scan's
    metrics window ended. Raises ActionRefused with a plain reason on any difference."""
    name = finding.endpoint_name
    facts = finding.scan
    if facts is None:
        raise ActionRefused(f"{name}: the finding carries no scan facts; scan again before acting")
    if tags.get(skip_tag_key, "").strip().lower() == "true":
        raise ActionRefused(f"{name} is tagged {skip_tag_key}=true now; left alone")
    if described["EndpointStatus"] != "InService":
        raise ActionRefused(f"{name} is {described['EndpointStatus']} now, not InService; left alone")
    modified = _aware(described["LastModifiedTime"])
    if modified != facts.endpoint_last_modified_at:
        raise ActionRefused(
            f"{name} changed since the scan (last modified {modified.isoformat()}, scanned "
            f"{facts.endpoint_last_modified_at.isoformat()}); left alone"
        )
    if described["EndpointConfigName"] != facts.config_name:
        raise ActionRefused(
            f"{name} was redeployed since the scan (config {described['EndpointConfigName']}, scanned "
            f"{facts.config_name}); left alone"
        )
    invocations = invocations_since(
        cloudwatch,
        name,
        variants=[variant.name for variant in facts.variants],
        inference_components=facts.inference_components,
        start=facts.metrics_window_end,
        end=now,
    )
    if invocations is None:
        raise ActionRefused(f"{name}: traffic since the scan could not be read from CloudWatch; left alone")
    if finding.action in IDLE_ACTIONS and invocations > 0:
        raise ActionRefused(
            f"{name} in use since the scan: {invocations:,.0f} invocations since "
            f"{facts.metrics_window_end.isoformat()}; left alone"
        )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---- snapshot: the whole way back ---------------------------------------------------------------------
def take_snapshot(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    described: dict[str, Any],
    tags: dict[str, str],
    now: datetime,
) -> Snapshot:
    """Config and models whole, tags, scalable targets with their policies and scheduled actions.
    Refuses (nothing touched) when the config or a model is already gone: there would be no way back."""
    name = described["EndpointName"]
    try:
        config = _body(sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"]))
        models = [
            _body(sagemaker.describe_model(ModelName=variant["ModelName"]))
            for variant in config.get("ProductionVariants", [])
            if variant.get("ModelName")
        ]
    except ClientError as error:
        if _is_missing(error):
            raise ActionRefused(
                f"{name}: the way back is missing ({error.response['Error']['Message']}); not acting"
            ) from None
        raise
    variants = [
        Variant(name=item["VariantName"], instance_count=int(item.get("CurrentInstanceCount", 0)))
        for item in described.get("ProductionVariants", [])
    ]
    digests = {
        image["SpecifiedImage"]: image["ResolvedImage"]
        for item in described.get("ProductionVariants", [])
        for image in item.get("DeployedImages", [])
        if image.get("SpecifiedImage") and image.get("ResolvedImage")
    }
    targets, policies, scheduled = _read_autoscaling(autoscaling, name, [v.name for v in variants])
    return Snapshot(
        endpoint_name=name,
        taken_at=now,
        config_name=described["EndpointConfigName"],
        tags=tags,
        scalable_targets=targets,
        variants=variants,
        scaling_policies=policies,
        scheduled_actions=scheduled,
        endpoint_config=config,
        models=models,
        image_digests=digests,
    )


# What PutScalingPolicy / PutScheduledAction take back (botocore 1.43 application-autoscaling model).
POLICY_FIELDS = (
    "PolicyName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "PolicyType",
    "StepScalingPolicyConfiguration",
    "TargetTrackingScalingPolicyConfiguration",
)
SCHEDULED_FIELDS = (
    "ScheduledActionName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "Schedule",
    "Timezone",
    "ScalableTargetAction",
)


def _replayable(item: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return _body({key: item[key] for key in fields if key in item})


def _read_autoscaling(
    autoscaling: ApplicationAutoScalingClient, endpoint_name: str, variant_names: list[str]
) -> tuple[list[ScalableTarget], list[dict[str, Any]], list[dict[str, Any]]]:
    resource_ids = [variant_resource_id(endpoint_name, variant) for variant in variant_names]
    targets: list[ScalableTarget] = []
    if resource_ids:
        paginator = autoscaling.get_paginator("describe_scalable_targets")
        for page in paginator.paginate(ServiceNamespace="sagemaker", ResourceIds=resource_ids):
            targets.extend(
                ScalableTarget(
                    resource_id=item["ResourceId"],
                    scalable_dimension=item["ScalableDimension"],
                    min_capacity=item["MinCapacity"],
                    max_capacity=item["MaxCapacity"],
                )
                for item in page["ScalableTargets"]
            )
    policies: list[dict[str, Any]] = []
    scheduled: list[dict[str, Any]] = []
    for resource_id in sorted({target.resource_id for target in targets}):
        for policy_page in autoscaling.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        ):
            policies.extend(_replayable(item, POLICY_FIELDS) for item in policy_page["ScalingPolicies"])
        for action_page in autoscaling.get_paginator("describe_scheduled_actions").paginate(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        ):
            scheduled.extend(_replayable(item, SCHEDULED_FIELDS) for item in action_page["ScheduledActions"])
    return targets, policies, scheduled


def _replay_autoscaling(autoscaling: ApplicationAutoScalingClient, snapshot: Snapshot) -> None:
    """Register every scalable target of the snapshot, then its policies and scheduled actions. Each
    call is an upsert, so replaying after a partial replay (or none) ends in the same state."""
    for target in snapshot.scalable_targets:
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target.resource_id,
            ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
            MinCapacity=target.min_capacity,
            MaxCapacity=target.max_capacity,
        )
    registered = {target.resource_id for target in snapshot.scalable_targets}
    for policy in snapshot.scaling_policies:
        if policy["ResourceId"] in registered:
            autoscaling.put_scaling_policy(**policy)
    for action in snapshot.scheduled_actions:
        if action["ResourceId"] in registered:
            autoscaling.put_scheduled_action(**action)


def missing_autoscaling(autoscaling: ApplicationAutoScalingClient, snapshot: Snapshot) -> list[str]:
    """What of the snapshot's autoscaling the endpoint lacks now (empty: all in place)."""
    targets, policies, scheduled = _read_autoscaling(
        autoscaling, snapshot.endpoint_name, [v.name for v in snapshot.variants]
    )
    missing = [
        f"scalable target {target.resource_id} ({target.min_capacity}-{target.max_capacity})"
        for target in snapshot.scalable_targets
        if target not in targets
    ]
    have_policies = {(p["ResourceId"], p["PolicyName"]) for p in policies}
    missing += [
        f"scaling policy {p['PolicyName']}"
        for p in snapshot.scaling_policies
        if (p["ResourceId"], p["PolicyName"]) not in have_policies
    ]
    have_scheduled = {(a["ResourceId"], a["ScheduledActionName"]) for a in scheduled}
    missing += [
        f"scheduled action {a['ScheduledActionName']}"
        for a in snapshot.scheduled_actions
        if (a["ResourceId"], a["ScheduledActionName"]) not in have_scheduled
    ]
    return missing


# ---- park ------------------------------------------------------------------------------------------
def park(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    cloudwatch: CloudWatchClient,
    table: StateTable,
    action: ProposedAction,
    *,
    skip_tag_key: str,
    approved_by: str | None,
    now: datetime,
) -> ActionResult:
    finding = action.finding
    name = finding.endpoint_name
    # A change on this endpoint that died half-way (this action's earlier attempt, or an older one):
    # finish or undo it first, so what is snapshotted below is whole.
    for intent in table.intents(name):
        if intent.state == "open":
            own = intent.action_id == action.action_id
            settled = _settle(
                sagemaker,
                autoscaling,
                table,
                intent,
                approved_by=approved_by,
                now=now,
                finding=finding if own else None,
            )
            if settled == "parked":
                return _applied(finding, "already parked") if own else _skipped(finding, "already parked")

    try:
        described: dict[str, Any] = dict(sagemaker.describe_endpoint(EndpointName=name))
    except ClientError as error:
        if not _is_missing(error):
            raise
        if is_parked(table, name):
            return _skipped(finding, "already parked; nothing changed")
        raise ActionRefused(f"{name} no longer exists; nothing to park") from None
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]}
    recheck(sagemaker, cloudwatch, finding, described, tags, skip_tag_key=skip_tag_key, now=now)
    if described.get("AsyncInferenceConfig"):
        raise ActionRefused(f"{name} is an async endpoint; parking is not its fix")
    if sagemaker.list_inference_components(EndpointNameEquals=name, MaxResults=1)["InferenceComponents"]:
        raise ActionRefused(f"{name} hosts inference components; parking would delete them")
    snapshot = take_snapshot(sagemaker, autoscaling, described, tags, now)

    table.put_snapshot(snapshot)  # the way back is stored before anything changes
    intent = Intent(
        endpoint_name=name,
        action_id=action.action_id,
        action=Action.PARK,
        snapshot_taken_at=snapshot.taken_at,
        started_at=now,
    )
    table.put_intent(intent)
    try:
        for target in snapshot.scalable_targets:
            _deregister(autoscaling, target)
        sagemaker.delete_endpoint(EndpointName=name)
    except Exception:
        if not _gone_or_deleting(sagemaker, name):
            _roll_back(autoscaling, table, intent, snapshot, now=now)
            raise
        # The delete went through although the call reported an error (e.g. a lost reply): parked.
    if not _gone_or_deleting(sagemaker, name):
        _roll_back(autoscaling, table, intent, snapshot, now=now)
        raise RuntimeError(f"{name} is still serving after DeleteEndpoint; its autoscaling was put back")
    _record_parked(table, finding, intent, snapshot, approved_by=approved_by, now=now)
    return _applied(finding, f"parked; restore with: endpoint-optimizer restore {name}")


def _deregister(autoscaling: ApplicationAutoScalingClient, target: ScalableTarget) -> None:
    try:
        autoscaling.deregister_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target.resource_id,
            ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
        )
    except ClientError as error:
        # Gone already (a retry after a lost reply): the goal of the call is met.
        if _error_code(error) != "ObjectNotFoundException":
            raise


def _roll_back(
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    intent: Intent,
    snapshot: Snapshot,
    *,
    now: datetime,
) -> None:
    """The endpoint still serves: give it back all its autoscaling (not only what this attempt knows it
    deregistered: a call whose reply was lost may have gone through)."""
    _replay_autoscaling(autoscaling, snapshot)
    table.resolve_intent(intent, "rolled_back", now=now)
    table.retire_snapshot(snapshot, now=now)  # not parked: the snapshot is history


def _record_parked(
    table: StateTable,
    finding: Finding | None,
    intent: Intent,
    snapshot: Snapshot,
    *,
    approved_by: str | None,
    now: datetime,
) -> None:
    """Ledger entry naming the snapshot (once per snapshot, whichever path gets here first), then the
    intent is done."""
    entries = table.ledger(intent.endpoint_name)
    already = any(
        entry.action == Action.PARK and entry.snapshot_taken_at == snapshot.taken_at for entry in entries
    )
    if not already:
        cost = finding.current_monthly_cost_usd if finding else None
        table.put_ledger_entry(
            LedgerEntry(
                endpoint_name=intent.endpoint_name,
                recorded_at=now,
                action=Action.PARK,
                outcome="applied",
                approved_by=approved_by,
                monthly_cost_before_usd=cost,
                monthly_cost_after_usd=0.0 if cost is not None else None,
                detail=f"deleted endpoint; kept config {snapshot.config_name}; "
                f"deregistered {len(snapshot.scalable_targets)} scalable target(s)",
                snapshot_taken_at=snapshot.taken_at,
            )
        )
    table.resolve_intent(intent, "done", now=now)


def _settle(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    intent: Intent,
    *,
    approved_by: str | None,
    now: datetime,
    finding: Finding | None = None,
) -> Literal["parked", "rolled_back"]:
    """Close an open intent from what is true now: gone -> parked (ledger); serving -> rolled back."""
    snapshot = table.snapshot(intent.endpoint_name, intent.snapshot_taken_at)
    if snapshot is None:  # cannot happen: the snapshot is written before the intent
        raise RuntimeError(f"intent {intent.action_id} names a snapshot that is not stored")
    if _gone_or_deleting(sagemaker, intent.endpoint_name):
        _record_parked(table, finding, intent, snapshot, approved_by=approved_by, now=now)
        return "parked"
    _roll_back(autoscaling, table, intent, snapshot, now=now)
    return "rolled_back"


def recover(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    action: ProposedAction,
    *,
    error: str,
    approved_by: str | None,
    now: datetime,
) -> ActionResult:
    """The workflow's Catch after apply failed or died: finish or undo this action's change."""
    finding = action.finding
    name = finding.endpoint_name
    intent = table.intent(name, action.action_id)
    if intent is None:
        detail = f"nothing was changed ({error})"
    elif intent.state == "done":
        return _applied(finding, "already parked")
    elif intent.state == "rolled_back":
        detail = f"rolled back: serving as before with its autoscaling ({error})"
    else:
        settled = _settle(
            sagemaker, autoscaling, table, intent, approved_by=approved_by, now=now, finding=finding
        )
        if settled == "parked":
            return _applied(
                finding, f"parked (finished after: {error}); restore with: endpoint-optimizer restore {name}"
            )
        detail = f"rolled back: serving as before with its autoscaling ({error})"
    return ActionResult(
        endpoint_name=name,
        action=finding.action,
        outcome="failed",
        estimated_monthly_savings_usd=None,
        detail=detail,
    )


def _applied(finding: Finding, detail: str) -> ActionResult:
    """This action's change is in place: its savings count (once: a retry finds its own work done)."""
    return ActionResult(
        endpoint_name=finding.endpoint_name,
        action=finding.action,
        outcome="applied",
        estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
        detail=detail,
    )


def _skipped(finding: Finding, detail: str) -> ActionResult:
    """Nothing changed by this action (e.g. another one parked the endpoint): it saves nothing."""
    return ActionResult(
        endpoint_name=finding.endpoint_name,
        action=finding.action,
        outcome="skipped",
        estimated_monthly_savings_usd=None,
        detail=detail,
    )


def is_parked(table: StateTable, endpoint_name: str) -> bool:
    """The ledger's last word on the endpoint is a park (not undone by a restore)."""
    last = next(
        (e for e in reversed(table.ledger(endpoint_name)) if e.outcome in ("applied", "restored")), None
    )
    return last is not None and last.action == Action.PARK


# ---- restore ---------------------------------------------------------------------------------------
def parked_snapshot(table: StateTable, endpoint_name: str) -> Snapshot:
    """The snapshot the park recorded in the ledger (not merely the newest); an intent's snapshot when
    the park died before its ledger entry."""
    for entry in reversed(table.ledger(endpoint_name)):
        if entry.action == Action.PARK and entry.outcome == "applied" and entry.snapshot_taken_at:
            snapshot = table.snapshot(endpoint_name, entry.snapshot_taken_at)
            if snapshot is None:
                raise RestoreFailed(
                    f"the ledger names snapshot {entry.snapshot_taken_at.isoformat()} of {endpoint_name}, "
                    "but it is not in the state table"
                )
            return snapshot
    for intent in reversed(table.intents(endpoint_name)):
        if intent.action == Action.PARK and intent.state in ("open", "done"):
            found = table.snapshot(endpoint_name, intent.snapshot_taken_at)
            if found is not None:
                return found
    raise RestoreFailed(f"no snapshot for {endpoint_name}: it was not parked by endpoint-optimizer")


def restore(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    endpoint_name: str,
    *,
    s3: S3Client,
    ecr: ECRClient,
    now: datetime,
    restored_by: str | None = None,
    wait: bool = True,
) -> Snapshot:
    """Bring a parked endpoint back with the same name, config, models, tags and autoscaling.

    Resumable: run it again after any failure. A missing config or model is recreated from the
    snapshot (after checking its artifact and image still exist); an endpoint already back but without
    its autoscaling gets it replayed.
    """
    snapshot = parked_snapshot(table, endpoint_name)
    status = _endpoint_status(sagemaker, endpoint_name)
    if status == "Deleting":
        raise RestoreFailed(f"{endpoint_name} is still being deleted; run restore again in a few minutes")
    if status == "Failed":
        raise RestoreFailed(f"{endpoint_name} exists in status Failed; delete it, then run restore again")
    if status is None:
        problems = way_back_problems(sagemaker, s3, ecr, snapshot)
        if problems:
            raise RestoreFailed(f"cannot restore {endpoint_name}: " + "; ".join(problems))
        _recreate_models_and_config(sagemaker, snapshot)
        sagemaker.create_endpoint(
            EndpointName=endpoint_name,
            EndpointConfigName=snapshot.config_name,
            Tags=[{"Key": k, "Value": v} for k, v in snapshot.tags.items() if not k.startswith("aws:")],
        )
        status = "Creating"
    elif (
        status == "InService"
        and not is_parked(table, endpoint_name)
        and not missing_autoscaling(autoscaling, snapshot)
    ):
        raise RestoreFailed(f"{endpoint_name} exists already (status {status}); nothing to restore")
    if wait:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name)
    elif status != "InService":
        # Autoscaling can only be registered on an InService variant: the next run of restore does it.
        return snapshot
    _replay_autoscaling(autoscaling, snapshot)
    table.put_ledger_entry(
        LedgerEntry(
            endpoint_name=endpoint_name,
            recorded_at=now,
            action="restore",
            outcome="restored",
            approved_by=restored_by,
            detail=f"recreated from config {snapshot.config_name} (snapshot {snapshot.taken_at.isoformat()}); "
            f"re-registered {len(snapshot.scalable_targets)} scalable target(s), "
            f"{len(snapshot.scaling_policies)} policy(ies), {len(snapshot.scheduled_actions)} scheduled action(s)",
            snapshot_taken_at=snapshot.taken_at,
        )
    )
    table.retire_snapshot(snapshot, now=now)
    return snapshot


def _exists(describe: Any, **name: str) -> bool:
    try:
        describe(**name)
    except ClientError as error:
        if _is_missing(error):
            return False
        raise
    return True


def _recreate_models_and_config(sagemaker: SageMakerClient, snapshot: Snapshot) -> None:
    for model in snapshot.models:
        if not _exists(sagemaker.describe_model, ModelName=model["ModelName"]):
            sagemaker.create_model(**_request(sagemaker, "CreateModel", model))
    if not _exists(sagemaker.describe_endpoint_config, EndpointConfigName=snapshot.config_name):
        if not snapshot.endpoint_config:
            raise RestoreFailed(
                f"endpoint config {snapshot.config_name} was deleted and this snapshot predates whole "
                "configs; recreate the config by hand, then run restore again"
            )
        sagemaker.create_endpoint_config(
            **_request(sagemaker, "CreateEndpointConfig", snapshot.endpoint_config)
        )


# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:<tag>|@<digest>] (ECR image URI format,
# "Pushing an image", Amazon ECR user guide, read 2026-12-01).
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.*)$")


def way_back_problems(
    sagemaker: SageMakerClient, s3: S3Client, ecr: ECRClient, snapshot: Snapshot
) -> list[str]:
    """What a restore would need that is gone: each model's artifact in S3 and image in ECR. Checked
    before CreateEndpoint, which would otherwise fail minutes later with a Failed endpoint."""
    del sagemaker  # the models are read from the snapshot: they may be deleted
    problems: list[str] = []
    for model in snapshot.models:
        containers = (
            [model["PrimaryContainer"]] if model.get("PrimaryContainer") else model.get("Containers", [])
        )
        for container in containers:
            problems += _artifact_problems(s3, model["ModelName"], container)
            problems += _image_problems(
                ecr, model["ModelName"], container.get("Image"), snapshot, model["ModelArn"].split(":")[4]
            )
    return problems


def _artifact_problems(s3: S3Client, model_name: str, container: dict[str, Any]) -> list[str]:
    url = container.get("ModelDataUrl") or container.get("ModelDataSource", {}).get("S3DataSource", {}).get(
        "S3Uri"
    )
    match = S3_URI.match(url or "")
    if match is None:
        return []  # the model ships in its image
    bucket, key = match["bucket"], match["key"]
    try:
        if key.endswith("/"):  # an uncompressed prefix (ModelDataSource S3Prefix)
            if not s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount"):
                return [f"model {model_name}: artifact prefix {url} is empty"]
        else:
            s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = _error_code(error)
        if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            return [f"model {model_name}: artifact {url} no longer exists"]
        return [f"model {model_name}: artifact {url} could not be checked ({code})"]
    return []


def _image_problems(
    ecr: ECRClient, model_name: str, image: str | None, snapshot: Snapshot, own_account: str
) -> list[str]:
    match = ECR_IMAGE.match(image or "")
    if image is None or match is None:
        return []  # not an ECR image: nothing this tool can check
    if match["account"] != own_account:
        return []  # another account's image (e.g. an AWS built-in algorithm or DLC): not ours to delete
    resolved = ECR_IMAGE.match(snapshot.image_digests.get(image, ""))
    digest = match["digest"] or (resolved["digest"] if resolved else None)
    image_id: dict[str, str] = {"imageDigest": digest} if digest else {"imageTag": match["tag"] or "latest"}
    try:
        found = ecr.describe_images(
            registryId=match["account"],
            repositoryName=match["repository"],
            imageIds=[image_id],  # type: ignore[list-item]
        )
    except ClientError as error:
        code = _error_code(error)
        if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return [f"model {model_name}: image {image} no longer exists in ECR ({code})"]
        return [f"model {model_name}: image {image} could not be checked ({code})"]
    if not found.get("imageDetails"):
        return [f"model {model_name}: image {image} no longer exists in ECR"]
    return []


# ---- the apply step --------------------------------------------------------------------------------
def apply_action(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    cloudwatch: CloudWatchClient,
    table: StateTable,
    action: ProposedAction,
    *,
    mode: Literal["report", "approve", "auto"],
    skip_tag_key: str,
    approved_by: str | None,
    now: datetime,
    home: tuple[str, str] | None = None,
) -> ActionResult:
    """Carry out one action, after checking it is this function's to carry out and was approved.

    `mode` is the stack's (its settings), never the event's: an event cannot skip the approval."""
    finding = action.finding
    if home is not None and (finding.account_id, finding.region) != home:
        raise ActionRefused(
            f"{finding.endpoint_name} is in {finding.account_id}/{finding.region}; this stack acts only in "
            f"{home[0]}/{home[1]}"
        )
    if mode == "report":
        raise ActionRefused(
            f"{finding.endpoint_name}: this stack is deployed in report mode; nothing is applied"
        )
    if mode == "approve":
        # Never act on the workflow's word alone: the approval record must say approved.
        if action.approval is None:
            raise ActionRefused(f"{finding.endpoint_name}: no approval came with this action")
        try:
            approval = table.get_approval(action.approval.approval_id)
        except ApprovalNotFound:
            raise ActionRefused(
                f"{finding.endpoint_name}: approval {action.approval.approval_id} does not exist"
            ) from None
        if approval.state != ApprovalState.APPROVED or approval.action_id != action.action_id:
            raise ActionRefused(
                f"{finding.endpoint_name}: approval {approval.approval_id} is {approval.state.value}, "
                "not an approval of this action"
            )
    if finding.action == Action.PARK:
        return park(
            sagemaker,
            autoscaling,
            cloudwatch,
            table,
            action,
            skip_tag_key=skip_tag_key,
            approved_by=approved_by,
            now=now,
        )
    raise ActionRefused(f"action {action.finding.action.value} cannot be applied yet (report only)")


def refused(action: ProposedAction, reason: str) -> ActionResult:
    """A refusal is an answer, not a failure: nothing was touched, and the run says why."""
    return ActionResult(
        endpoint_name=action.finding.endpoint_name,
        action=action.finding.action,
        outcome="refused",
        estimated_monthly_savings_usd=None,
        detail=reason,
    )
