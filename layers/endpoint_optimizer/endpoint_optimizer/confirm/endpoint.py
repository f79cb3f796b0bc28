"""Confirming one endpoint's move, the steps the CLI and the recommend Lambda share: read what the job
needs (model, image, tags), the baseline and the payload; for a Graviton move of an x86 image, the
throwaway model on its arm64 build (confirm.arm64_model); build the request (decide.confirm); start or
reuse the job; and, once it has ended, turn it into a Confirmation (and delete that throwaway model).

Never a sleep here: the CLI polls with `--wait`, the state machine with a Wait state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.confirm.arm64_model import (
    Arm64ModelRefused,
    ensure_arm64_model,
    release_arm64_model,
)
from endpoint_optimizer.confirm.jobs import (
    TERMINAL,
    JobNotStarted,
    describe,
    failed_steps,
    find_reusable,
    finished_steps,
    start,
)
from endpoint_optimizer.confirm.observed import read_variant_baseline
from endpoint_optimizer.confirm.payload import PayloadMissing, payload_from
from endpoint_optimizer.decide.confirm.arm64_model import arm64_model_name
from endpoint_optimizer.decide.confirm.candidates import (
    candidates_for,
    current_variant,
    instant_instance_types,
    narrowed_by_instant,
    needs_confirmation,
)
from endpoint_optimizer.decide.confirm.choose import confirmation_from, not_started
from endpoint_optimizer.decide.confirm.images import container_config_for, unknown_container_how_to
from endpoint_optimizer.decide.confirm.job import deadline_for, job_name, job_request, reuse_key
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, Baseline, Confirmation, Finding, ScannedEndpoint, ScanSnapshot
from endpoint_optimizer.scan.inventory import (
    describe_config,
    describe_endpoint,
    scalable_targets_by_resource,
    scheduled_actions_by_resource,
    variant_resource_id,
)
from endpoint_optimizer.scan.metrics import look_back_window, read_metrics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

# The plan contract of `endpoint-optimizer recommend --output` (issue 9).
RECOMMEND_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Subject:
    """What the job is about, read from AWS at confirm time."""

    described: dict[str, Any]  # DescribeEndpoint
    tags: dict[str, str]
    model_name: str | None
    image: str | None
    # The model's free "instant" recommendations (DescribeModel DeploymentRecommendation), when COMPLETED.
    instant_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Started:
    """A job runs (or ran) for the finding: poll `job_name` until its status is terminal."""

    job_name: str
    reused: bool
    baseline: Baseline
    deadline: datetime | None = None  # None for a reused job: its own start is not known here
    request: dict[str, Any] = field(default_factory=dict)  # {} when reused


def scan_endpoint(
    clients: Clients, endpoint_name: str, *, account_id: str, now: datetime, lookback_days: int
) -> ScanSnapshot:
    """A scan of one endpoint (the CLI's `recommend`): what scan_region reads for it, without listing the
    region's endpoints; its finding then comes from the one analyze path, as in a full scan."""
    sagemaker = clients.sagemaker
    endpoint = describe_endpoint(
        sagemaker,
        endpoint_name,
        account_id=account_id,
        region=clients.region,
        config_for=lambda name: describe_config(sagemaker, name),
    )
    resource_ids = [variant_resource_id(endpoint_name, variant.name) for variant in endpoint.variants]
    targets = scalable_targets_by_resource(clients.autoscaling)
    actions = scheduled_actions_by_resource(clients.autoscaling)
    endpoint = endpoint.model_copy(
        update={
            "tags": {
                tag["Key"]: tag["Value"]
                for tag in sagemaker.list_tags(ResourceArn=endpoint.arn).get("Tags", [])
            },
            "scalable_targets": [t for rid in resource_ids for t in targets.get(rid, [])],
            "scheduled_actions": [a for rid in resource_ids for a in actions.get(rid, [])],
        }
    )
    start_at, end_at = look_back_window(now, lookback_days)
    metrics, _, _ = read_metrics(clients.cloudwatch, [endpoint], start=start_at, end=end_at, max_workers=1)
    return ScanSnapshot(
        account_id=account_id,
        region=clients.region,
        scanned_at=now,
        lookback_days=lookback_days,
        endpoints=[ScannedEndpoint(endpoint=endpoint, metrics=metrics.get(endpoint_name, []))],
    )


def read_subject(sagemaker: SageMakerClient, endpoint_name: str, variant_name: str) -> Subject:
    """DescribeEndpoint, ListTags and DescribeEndpointConfig: the variant's model and deployed image."""
    described: dict[str, Any] = dict(sagemaker.describe_endpoint(EndpointName=endpoint_name))
    tags = {
        tag["Key"]: tag["Value"]
        for tag in sagemaker.list_tags(ResourceArn=described["EndpointArn"]).get("Tags", [])
    }
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model_name = next(
        (
            v.get("ModelName")
            for v in config.get("ProductionVariants", [])
            if v["VariantName"] == variant_name
        ),
        None,
    )
    image = next(
        (
            (v.get("DeployedImages") or [{}])[0].get("SpecifiedImage")
            for v in described.get("ProductionVariants", [])
            if v["VariantName"] == variant_name
        ),
        None,
    )
    instant: tuple[str, ...] = ()
    if model_name:
        model = sagemaker.describe_model(ModelName=model_name)
        image = image or (model.get("PrimaryContainer") or {}).get("Image")
        instant = instant_instance_types(dict(model))
    return Subject(described, tags, model_name, image, instant)


def start_confirmation(
    sagemaker: SageMakerClient,
    cloudwatch: CloudWatchClient,
    s3: S3Client,
    finding: Finding,
    *,
    role_arn: str,
    now: datetime,
    lookback_days: int,
    reuse_days: int,
    bucket: str | None,
    payload_url: str | None = None,
) -> Started | Confirmation:
    """Start (or reuse) the Inference Recommender job that confirms `finding`'s move; a Confirmation with
    status NOT_STARTED and the reason when no job can run (nothing to confirm, unknown image, no payload,
    AWS refused it). A reusable job is looked for before the payload, so a reuse writes nothing to S3."""
    variant = current_variant(finding)
    if variant is None or not needs_confirmation(finding):
        reason = (
            f"nothing to confirm for {finding.endpoint_name}: its finding is {finding.action.value}; a benchmark "
            "confirms rightsize, migrate_graviton and migrate_serverless moves of a single instance variant"
        )
        return not_started(Baseline(), reason)
    baseline = read_variant_baseline(cloudwatch, finding.endpoint_name, variant, now, lookback_days)
    subject = read_subject(sagemaker, finding.endpoint_name, variant.name)
    if not subject.model_name:
        return not_started(baseline, f"{finding.endpoint_name}/{variant.name} names no model to benchmark")
    image = variant.image or subject.image
    container = container_config_for(image, subject.tags)
    if container is None:
        return not_started(baseline, unknown_container_how_to(image))
    model_name, arm64_image = subject.model_name, None
    if finding.action == Action.MIGRATE_GRAVITON and not container.is_arm64:
        # A job benchmarks one model, so one image: the Graviton candidates run a throwaway copy of the
        # model on the arm64 build of its image (confirm.arm64_model), without today's x86 type.
        if container.arm64_image is None:
            return not_started(
                baseline,
                f"a Graviton benchmark needs an arm64 build of {image}, and none is known for it; "
                f"{subject.model_name} can be benchmarked on Graviton once it runs an arm64 image",
            )
        arm64_image = container.arm64_image
        model_name = arm64_model_name(subject.model_name, arm64_image)
    candidates = candidates_for(finding, include_baseline=arm64_image is None)
    # The model's free instant recommendations first: they may leave some candidates out of the job.
    candidates = narrowed_by_instant(candidates, subject.instant_types, today=variant.instance_type)
    name = job_name(finding.endpoint_name, reuse_key(finding.endpoint_name, model_name, candidates), now)
    reusable = find_reusable(
        sagemaker,
        job_name=name,
        model_name=model_name,
        endpoint_configurations=[candidate.endpoint_configuration() for candidate in candidates],
        now=now,
        reuse_days=reuse_days,
    )
    if reusable is not None:
        return Started(reusable, reused=True, baseline=baseline)
    payload = payload_from(
        s3, finding.endpoint_name, subject.described, subject.tags, bucket=bucket, explicit_url=payload_url
    )
    if isinstance(payload, PayloadMissing):
        return not_started(baseline, payload.reason)
    if arm64_image is not None:
        made = ensure_arm64_model(sagemaker, subject.model_name, arm64_image, role_arn=role_arn)
        if isinstance(made, Arm64ModelRefused):
            return not_started(baseline, made.reason)
    request = job_request(
        endpoint_name=finding.endpoint_name,
        model_name=model_name,
        role_arn=role_arn,
        container=container,
        sample_payload_url=payload.url,
        candidates=candidates,
        baseline=baseline,
        now=now,
        content_types=payload.content_types or None,
    )
    outcome = start(sagemaker, request)
    if isinstance(outcome, JobNotStarted):
        release_arm64_model(sagemaker, model_name)  # no job runs on it (not ours: left alone)
        return not_started(baseline, outcome.reason)
    return Started(
        outcome.job_name,
        reused=outcome.reused,  # another run started it this minute
        baseline=baseline,
        deadline=deadline_for(request, now),
        request=request,
    )


def finish_confirmation(
    sagemaker: SageMakerClient,
    job_name: str,
    baseline: Baseline,
    *,
    reused: bool = False,
    described: dict[str, Any] | None = None,
    average_invocations_per_hour: float | None = None,
    stopped_at_deadline: bool = False,
) -> Confirmation:
    """The job's verdict (decide.confirm.choose.confirmation_from) with its failed benchmarks named and,
    for a job that ended (or is stopping) without completing, the benchmarks it did finish; a Graviton
    job's benchmark model deleted once the job has ended. `described`: a DescribeInferenceRecommendationsJob
    answer already read (saves a call); `stopped_at_deadline`: the caller stopped the job at its deadline."""
    answer = described if described is not None else describe(sagemaker, job_name)
    status = answer.get("Status")
    ended = status in TERMINAL or status == "STOPPING"
    steps = failed_steps(sagemaker, job_name) if status in TERMINAL else []
    finished = finished_steps(sagemaker, job_name) if ended and status != "COMPLETED" else []
    if ended:
        # A Graviton job's throwaway model is not needed once the job has ended or is being stopped.
        model_name = (answer.get("InputConfig") or {}).get("ModelName")
        release_arm64_model(sagemaker, model_name, finished_job=job_name)
    return confirmation_from(
        answer,
        baseline,
        average_invocations_per_hour=average_invocations_per_hour,
        failed_benchmarks=steps,
        finished_benchmarks=finished,
        stopped_at_deadline=stopped_at_deadline,
        reused=reused,
    )


def recommend_document(endpoint_name: str, confirmation: Confirmation) -> dict[str, Any]:
    """`endpoint-optimizer recommend --output`'s JSON, the fields issue 9 lists: an option names its
    instance_type or its serverless_memory_mb, whichever it is."""
    body = confirmation.model_dump(mode="json", exclude={"reused"})
    for option in [*body["options"], *([body["chosen"]] if body["chosen"] else [])]:
        drop = "instance_type" if option.get("serverless_memory_mb") is not None else "serverless_memory_mb"
        option.pop(drop, None)
    return {"schema_version": RECOMMEND_SCHEMA_VERSION, "endpoint_name": endpoint_name, **body}
