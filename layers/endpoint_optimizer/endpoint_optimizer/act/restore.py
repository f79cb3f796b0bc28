"""Restore: bring a parked endpoint back from the snapshot its park recorded, recreating a deleted
config or model. Resumable: an endpoint that is back but lacks its autoscaling gets it replayed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.capture import missing_autoscaling, replay_autoscaling
from endpoint_optimizer.act.endpoint_state import RestoreFailed, endpoint_status, is_missing
from endpoint_optimizer.act.way_back import way_back_problems
from endpoint_optimizer.infra.stores import ChangeRecords, LedgerStore
from endpoint_optimizer.models import Action, LedgerEntry, WayBack

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient


def is_parked(table: LedgerStore, endpoint_name: str) -> bool:
    """The ledger's last word on the endpoint is a park (not undone by a restore)."""
    last = next(
        (e for e in reversed(table.ledger(endpoint_name)) if e.outcome in ("applied", "restored")), None
    )
    return last is not None and last.action == Action.PARK


def parked_way_back(table: ChangeRecords, endpoint_name: str) -> WayBack:
    """The snapshot the park recorded in the ledger (not merely the newest); an intent's snapshot when
    the park died before its ledger entry."""
    for entry in reversed(table.ledger(endpoint_name)):
        if entry.action == Action.PARK and entry.outcome == "applied" and entry.snapshot_taken_at:
            way_back = table.way_back(endpoint_name, entry.snapshot_taken_at)
            if way_back is None:
                raise RestoreFailed(
                    f"the ledger names snapshot {entry.snapshot_taken_at.isoformat()} of {endpoint_name}, "
                    "but it is not in the state table"
                )
            return way_back
    for intent in reversed(table.intents(endpoint_name)):
        if intent.action == Action.PARK and intent.state in ("open", "done"):
            found = table.way_back(endpoint_name, intent.snapshot_taken_at)
            if found is not None:
                return found
    raise RestoreFailed(f"no snapshot for {endpoint_name}: it was not parked by endpoint-optimizer")


def restore(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: ChangeRecords,
    endpoint_name: str,
    *,
    s3: S3Client,
    ecr: ECRClient,
    now: datetime,
    restored_by: str | None = None,
    wait: bool = True,
) -> WayBack:
    """Bring a parked endpoint back with the same name, config, models, tags and autoscaling.

    Resumable: run it again after any failure. A missing config or model is recreated from the
    snapshot (after checking its artifact and image still exist); an endpoint already back but without
    its autoscaling gets it replayed.
    """
    way_back = parked_way_back(table, endpoint_name)
    status = endpoint_status(sagemaker, endpoint_name)
    if status == "Deleting":
        raise RestoreFailed(f"{endpoint_name} is still being deleted; run restore again in a few minutes")
    if status == "Failed":
        raise RestoreFailed(f"{endpoint_name} exists in status Failed; delete it, then run restore again")
    if status is None:
        problems = way_back_problems(sagemaker, s3, ecr, way_back)
        if problems:
            raise RestoreFailed(f"cannot restore {endpoint_name}: " + "; ".join(problems))
        recreate_models_and_config(sagemaker, way_back)
        sagemaker.create_endpoint(
            EndpointName=endpoint_name,
            EndpointConfigName=way_back.config_name,
            Tags=[{"Key": k, "Value": v} for k, v in way_back.tags.items() if not k.startswith("aws:")],
        )
        status = "Creating"
    elif (
        status == "InService"
        and not is_parked(table, endpoint_name)
        and not missing_autoscaling(autoscaling, way_back)
    ):
        raise RestoreFailed(f"{endpoint_name} exists already (status {status}); nothing to restore")
    if wait:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name)
    elif status != "InService":
        # Autoscaling can only be registered on an InService variant: the next run of restore does it.
        return way_back
    replay_autoscaling(autoscaling, way_back)
    table.put_ledger_entry(
        LedgerEntry(
            endpoint_name=endpoint_name,
            recorded_at=now,
            action="restore",
            outcome="restored",
            approved_by=restored_by,
            detail=f"recreated from config {way_back.config_name} (snapshot {way_back.taken_at.isoformat()}); "
            f"re-registered {len(way_back.scalable_targets)} scalable target(s), "
            f"{len(way_back.scaling_policies)} policy(ies), {len(way_back.scheduled_actions)} scheduled action(s)",
            snapshot_taken_at=way_back.taken_at,
        )
    )
    table.retire_way_back(way_back, now=now)
    return way_back


def _exists(describe: Any, **name: str) -> bool:
    try:
        describe(**name)
    except ClientError as error:
        if is_missing(error):
            return False
        raise
    return True


def recreate_models_and_config(sagemaker: SageMakerClient, way_back: WayBack) -> None:
    for model in way_back.models:
        if not _exists(sagemaker.describe_model, ModelName=model["ModelName"]):
            sagemaker.create_model(**request_body(sagemaker, "CreateModel", model))
    if not _exists(sagemaker.describe_endpoint_config, EndpointConfigName=way_back.config_name):
        if not way_back.endpoint_config:
            raise RestoreFailed(
                f"endpoint config {way_back.config_name} was deleted and this snapshot predates whole "
                "configs; recreate the config by hand, then run restore again"
            )
        sagemaker.create_endpoint_config(
            **request_body(sagemaker, "CreateEndpointConfig", way_back.endpoint_config)
        )


def request_body(sagemaker: SageMakerClient, operation: str, body: dict[str, Any]) -> dict[str, Any]:
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
