"""migrate_serverless: recreate an instance endpoint, same name, on a Serverless Inference config.

UpdateEndpoint cannot move an instance-based endpoint to serverless ("Updating a real-time inference
endpoint to either an on-demand serverless endpoint or a serverless endpoint with Provisioned Concurrency
is currently not supported", SageMaker developer guide serverless-endpoints-update.html, read 2026-12-01):
the endpoint is deleted and created again with the same name on a new `eo-...` config holding the same
model with ServerlessConfig{MemorySizeInMB, MaxConcurrency}. It is without service from the delete until
the new endpoint is InService, so the plan refuses outside the quietest hour of its traffic (the rung's
`quiet_hour_utc`) and when the account's serverless quotas would be exceeded.

Steps (act/steps.py): Plan (reads only) -> Act: the config, deregister the variant's scalable targets
(a delete with them registered fails), DeleteEndpoint -> Check progress: CreateEndpoint once the old one is
gone (AWS keeps it "Deleting" a while), then wait for InService -> Verify: InService on the new config with
CurrentServerlessConfig as planned, and a test invocation when the owner tagged a sample payload. Roll back
(and undo): delete the serverless endpoint, recreate the old config and models if deleted meanwhile,
CreateEndpoint on the old config, replay the autoscaling. Each step converges on what the endpoint is now,
so a retry after a lost reply finds its own work done.

Sample payload (tag `endpoint-optimizer:sample-payload`): the tag value is either an `s3://bucket/key` URI
(the object's bytes, sent with the object's ContentType, application/json when it has none) or inline JSON
(sent as application/json; a tag value holds at most 256 characters). Anything else is refused at Start.
When the object is a `.tar.gz` (by its key or its gzip magic bytes) it is Inference Recommender's archive
of requests (confirm/payload.py), the one a benchmarked move was confirmed with: the test invocation sends
its first request file, with the first type of the tag `endpoint-optimizer:sample-payload-content-type`,
else the type the file's extension names, else application/json.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.capture import missing_autoscaling, replay_autoscaling
from endpoint_optimizer.act.endpoint_state import ActionRefused, error_code, is_missing
from endpoint_optimizer.act.restore import recreate_models_and_config
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import (
    DEFAULT_SERVERLESS_CONCURRENCY_QUOTA,
    DEFAULT_SERVERLESS_ENDPOINTS_QUOTA,
    SERVERLESS_CONCURRENCY_QUOTA_NAME,
    SERVERLESS_ENDPOINTS_QUOTA_NAME,
    Finding,
    ProposedAction,
    WayBack,
)
from endpoint_optimizer.models.change import Change, Progress

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

SAMPLE_PAYLOAD_TAG = "endpoint-optimizer:sample-payload"
# The MIME type(s) of the tagged payload, comma-separated: confirm.payload.CONTENT_TYPE_TAG (act may not
# import confirm; a test checks the two agree).
SAMPLE_PAYLOAD_CONTENT_TYPE_TAG = "endpoint-optimizer:sample-payload-content-type"
# InvokeEndpoint takes a Body of at most 6,291,456 bytes (botocore 1.43 sagemaker-runtime BodyBlob, read
# 2026-12-01). Verify reads at most that plus 1 MiB of the tagged object: an archive's first request (all
# it sends) lies within it, compressed, with its tar and gzip headers.
MAX_INVOKE_BODY_BYTES = 6_291_456
MAX_SAMPLE_OBJECT_BYTES = MAX_INVOKE_BODY_BYTES + 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# The request files confirm.payload.pack_payload names by type, read back the other way.
CONTENT_TYPE_OF_EXTENSION = {"csv": "text/csv", "json": "application/json", "jsonl": "application/jsonlines"}
DEFAULT_CONTENT_TYPE = "application/json"
# ServerlessConfig: MemorySizeInMB 1024-6144 in 1024 MB steps, MaxConcurrency 1-200 (botocore 1.43
# sagemaker ServerlessMemorySizeInMB / ServerlessMaxConcurrency; developer guide serverless-endpoints.html,
# read 2026-12-01).
MEMORY_STEP_MB = 1024
MEMORY_RANGE_MB = (1024, 6144)
CONCURRENCY_RANGE = (1, 200)
# EndpointConfigName: at most 63 characters, ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (botocore 1.43 sagemaker
# EndpointConfigName, read 2026-12-01).
CONFIG_NAME_CHARS = 63

# Service Quotas (service code `sagemaker`), found by name; their codes, default values and sources are in
# models/scan.py, shared with the scan (which reads them by code) and the serverless rung.
ENDPOINTS_QUOTA_NAME = SERVERLESS_ENDPOINTS_QUOTA_NAME
CONCURRENCY_QUOTA_NAME = SERVERLESS_CONCURRENCY_QUOTA_NAME
# When Service Quotas does not list them (the emulated AWS has no SageMaker quotas; AWS answers
# NoSuchResourceException for a service or quota it does not know in the region): AWS's default values,
# the lowest seen publicly. Conservative: a refusal names the numbers.
FALLBACK_ENDPOINTS_QUOTA = DEFAULT_SERVERLESS_ENDPOINTS_QUOTA
FALLBACK_CONCURRENCY_QUOTA = DEFAULT_SERVERLESS_CONCURRENCY_QUOTA


# ---- helpers ----------------------------------------------------------------------------------------
def _next_hour(now: datetime, hour: int) -> datetime:
    """The next start of `hour` (UTC) after `now`."""
    start = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return start if start > now else start + timedelta(days=1)


def config_name_for(endpoint_name: str, action_id: str) -> str:
    """`eo-<endpoint>-sl-<8 hex of the action>`: unique per change, at most 63 characters."""
    suffix = "-sl-" + hashlib.sha256(action_id.encode()).hexdigest()[:8]
    return f"eo-{endpoint_name}"[: CONFIG_NAME_CHARS - len(suffix)].rstrip("-") + suffix


def parse_sample_payload(value: str) -> dict[str, str] | None:
    """{"s3": uri} or {"inline": json text}; None when the tag value is neither."""
    value = value.strip()
    if value.startswith("s3://") and "/" in value.removeprefix("s3://").strip("/"):
        return {"s3": value}
    try:
        json.loads(value)
    except ValueError:
        return None
    return {"inline": value}


class UnreadablePayload(ValueError):
    """The tagged sample payload cannot be turned into one request body (the message says why)."""


def _first_request(archive: bytes) -> tuple[bytes, str]:
    """(body, file name) of the first regular file in a .tar.gz of requests. Read as a stream, so an
    archive cut short by the bounded read still yields a first file that lies whole within it."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r|gz") as requests:
            for member in requests:
                if not member.isfile():
                    continue
                if member.size > MAX_INVOKE_BODY_BYTES:
                    raise UnreadablePayload(
                        f"its first request {member.name} is {member.size} bytes, more than InvokeEndpoint "
                        f"takes ({MAX_INVOKE_BODY_BYTES})"
                    )
                extracted = requests.extractfile(member)
                if extracted is None:  # pragma: no cover - isfile() members always extract
                    continue
                return extracted.read(), member.name
    except (tarfile.TarError, EOFError, OSError) as error:  # gzip.BadGzipFile is an OSError
        raise UnreadablePayload(f"it is not a readable .tar.gz of requests ({error})") from error
    raise UnreadablePayload("the .tar.gz holds no request file")


def sample_request(
    key: str, head: bytes, object_content_type: str | None, content_type_tag: str | None
) -> tuple[bytes, str]:
    """(body, content type) of the test invocation from the tagged object's first bytes (`head`, at most
    MAX_SAMPLE_OBJECT_BYTES + 1 of them). A .tar.gz (by key or magic bytes) is Inference Recommender's
    archive: its first request file, typed by the content-type tag, its extension, or application/json.
    Anything else is the body itself, typed by the object's ContentType."""
    if key.lower().endswith(ARCHIVE_SUFFIXES) or head.startswith(GZIP_MAGIC):
        body, file_name = _first_request(head)
        tagged = [t.strip() for t in (content_type_tag or "").split(",") if t.strip()]
        extension = file_name.rpartition(".")[2].lower() if "." in file_name else ""
        content_type = tagged[0] if tagged else CONTENT_TYPE_OF_EXTENSION.get(extension, DEFAULT_CONTENT_TYPE)
        return body, content_type
    if len(head) > MAX_INVOKE_BODY_BYTES:
        raise UnreadablePayload(f"it is more than the {MAX_INVOKE_BODY_BYTES} bytes InvokeEndpoint takes")
    return head, object_content_type or DEFAULT_CONTENT_TYPE


def _describe(sagemaker: SageMakerClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker.describe_endpoint(EndpointName=name))
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def _config_exists(sagemaker: SageMakerClient, name: str) -> bool:
    try:
        sagemaker.describe_endpoint_config(EndpointConfigName=name)
    except ClientError as error:
        if is_missing(error):
            return False
        raise
    return True


def _tags(way_back: WayBack) -> list[TagTypeDef]:
    return [{"Key": k, "Value": v} for k, v in way_back.tags.items() if not k.startswith("aws:")]


def _serverless_of(described: dict[str, Any]) -> dict[str, Any] | None:
    variants = described.get("ProductionVariants") or []
    return variants[0].get("CurrentServerlessConfig") if len(variants) == 1 else None


# ---- what the plan reads -----------------------------------------------------------------------------
def _quota(quotas: Any, name: str) -> float | None:
    """The account's applied value of the SageMaker quota whose name starts with `name`; None when Service
    Quotas does not list it."""
    try:
        found = None
        for page in quotas.get_paginator("list_aws_default_service_quotas").paginate(ServiceCode="sagemaker"):
            found = next(
                (q for q in page["Quotas"] if str(q.get("QuotaName", "")).lower().startswith(name)), found
            )
            if found:
                break
        if found is None:
            return None
        try:
            applied = quotas.get_service_quota(ServiceCode="sagemaker", QuotaCode=found["QuotaCode"])
            return float(applied["Quota"]["Value"])
        except ClientError as error:
            if error_code(error) != "NoSuchResourceException":
                raise
            return float(found["Value"])  # no applied value: the default applies
    except ClientError as error:
        if error_code(error) == "NoSuchResourceException":
            return None
        raise


def serverless_usage(sagemaker: SageMakerClient, except_name: str) -> tuple[int, int]:
    """(serverless endpoints, their total MaxConcurrency) in the account and region, `except_name` aside."""
    count, concurrency = 0, 0
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        for item in page["Endpoints"]:
            if item["EndpointName"] == except_name:
                continue
            described = _describe(sagemaker, item["EndpointName"])
            configs = [
                v.get("CurrentServerlessConfig") or v.get("DesiredServerlessConfig")
                for v in (described or {}).get("ProductionVariants", [])
            ]
            serverless = [c for c in configs if c]
            if serverless:
                count += 1
                concurrency += sum(int(c.get("MaxConcurrency", 0)) for c in serverless)
    return count, concurrency


def check_quotas(clients: Clients, name: str, max_concurrency: int) -> dict[str, Any]:
    """Refuses when one more serverless endpoint with `max_concurrency` exceeds a quota; the numbers."""
    quotas = clients.service_quotas
    endpoints_quota = _quota(quotas, ENDPOINTS_QUOTA_NAME)
    concurrency_quota = _quota(quotas, CONCURRENCY_QUOTA_NAME)
    source = "Service Quotas"
    if endpoints_quota is None or concurrency_quota is None:
        source = "Service Quotas lists no serverless quotas here: the lowest starting values seen"
        endpoints_quota = endpoints_quota if endpoints_quota is not None else FALLBACK_ENDPOINTS_QUOTA
        concurrency_quota = concurrency_quota if concurrency_quota is not None else FALLBACK_CONCURRENCY_QUOTA
    count, concurrency = serverless_usage(clients.sagemaker, name)
    if count + 1 > endpoints_quota:
        raise ActionRefused(
            f"{name}: the account has {count} serverless endpoints and may have {endpoints_quota:.0f} "
            f"({source}); request a quota increase first; left alone"
        )
    if concurrency + max_concurrency > concurrency_quota:
        raise ActionRefused(
            f"{name}: serverless MaxConcurrency {concurrency} in use + {max_concurrency} for this endpoint "
            f"exceeds the account's total of {concurrency_quota:.0f} ({source}); left alone"
        )
    return {
        "serverless_endpoints": count,
        "endpoints_quota": endpoints_quota,
        "concurrency_in_use": concurrency,
        "concurrency_quota": concurrency_quota,
        "source": source,
    }


def _sizing(finding: Finding) -> tuple[int, int]:
    """(MemorySizeInMB, MaxConcurrency): a benchmark's chosen serverless size wins over the rung's."""
    evidence = finding.evidence
    chosen = finding.confirmation.chosen if finding.confirmation else None
    memory = (
        chosen.serverless_memory_mb
        if chosen and chosen.serverless_memory_mb
        else evidence.get("serverless_memory_mb")
    )
    concurrency = evidence.get("max_concurrency") or 1
    if not isinstance(memory, int | float) or not isinstance(concurrency, int | float):
        raise ActionRefused(f"{finding.endpoint_name}: the finding names no serverless size; scan again")
    memory, concurrency = int(memory), int(concurrency)
    low, high = MEMORY_RANGE_MB
    if not (low <= memory <= high and memory % MEMORY_STEP_MB == 0):
        raise ActionRefused(f"{finding.endpoint_name}: {memory} MB is not a serverless memory size")
    if not CONCURRENCY_RANGE[0] <= concurrency <= CONCURRENCY_RANGE[1]:
        raise ActionRefused(f"{finding.endpoint_name}: MaxConcurrency {concurrency} is outside 1-200")
    return memory, concurrency


def _unsupported(way_back: WayBack) -> list[str]:
    """What serverless does not support in the config and model the endpoint runs (developer guide
    serverless-endpoints.html "Feature exclusions", read 2026-12-01)."""
    config = way_back.endpoint_config
    problems = []
    variants = config.get("ProductionVariants", [])
    if len(variants) != 1 or config.get("ShadowProductionVariants"):
        problems.append("more than one variant")
    if (config.get("DataCaptureConfig") or {}).get("EnableCapture"):
        problems.append("data capture")
    if config.get("AsyncInferenceConfig"):
        problems.append("asynchronous inference")
    if any(str(v.get("InstanceType", "")).startswith(("ml.g", "ml.p", "ml.inf", "ml.trn")) for v in variants):
        problems.append("an accelerated instance (serverless has no GPUs)")
    for model in way_back.models:
        containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
        if model.get("VpcConfig"):
            problems.append(f"model {model.get('ModelName')} runs in a VPC")
        if model.get("EnableNetworkIsolation"):
            problems.append(f"model {model.get('ModelName')} has network isolation")
        if len(containers) > 1:
            problems.append(f"model {model.get('ModelName')} is an inference pipeline")
        for container in containers:
            if container.get("Mode") == "MultiModel":
                problems.append(f"model {model.get('ModelName')} is a multi-model endpoint")
            if container.get("ModelPackageName"):
                problems.append(f"model {model.get('ModelName')} comes from a model package (Marketplace)")
            if (container.get("ImageConfig") or {}).get("RepositoryAccessMode") == "Vpc":
                problems.append(f"model {model.get('ModelName')} pulls from a private registry")
    return problems


# ---- the steps --------------------------------------------------------------------------------------
class ServerlessSteps:
    """act/steps.py ChangeSteps for migrate_serverless."""

    def refuse(self, described: dict[str, Any], tags: dict[str, str], finding: Finding) -> None:
        name = finding.endpoint_name
        if _serverless_of(described):
            raise ActionRefused(f"{name} is serverless already; nothing to change")
        if len(described.get("ProductionVariants") or []) != 1 or described.get("ShadowProductionVariants"):
            raise ActionRefused(f"{name} has more than one variant; serverless takes one; left alone")
        if described.get("AsyncInferenceConfig"):
            raise ActionRefused(f"{name} is an async endpoint; serverless is not its fix")
        payload = tags.get(SAMPLE_PAYLOAD_TAG)
        if payload is not None and parse_sample_payload(payload) is None:
            raise ActionRefused(
                f"{name}: tag {SAMPLE_PAYLOAD_TAG} must be an s3://bucket/key URI or inline JSON; "
                "fix it so the move can be verified by a test invocation; left alone"
            )

    def plan(
        self, clients: Clients, action: ProposedAction, way_back: WayBack, now: datetime
    ) -> dict[str, Any]:
        finding = action.finding
        name = finding.endpoint_name
        quiet = finding.evidence.get("quiet_hour_utc")
        if not isinstance(quiet, int):
            raise ActionRefused(f"{name}: the finding names no quietest hour; scan again before moving it")
        # Recreating it means minutes without service: the workflow waits for the quietest hour of its
        # traffic (a Step Functions Wait until `act_at`), now if this is that hour.
        act_at = now if now.hour == quiet else _next_hour(now, quiet)
        problems = _unsupported(way_back)
        if problems:
            raise ActionRefused(
                f"{name}: serverless does not support " + ", ".join(problems) + "; left alone"
            )
        memory, concurrency = _sizing(finding)
        quotas = check_quotas(clients, name, concurrency)
        (variant,) = way_back.endpoint_config["ProductionVariants"]
        payload = way_back.tags.get(SAMPLE_PAYLOAD_TAG)
        return {
            "config_name": config_name_for(name, action.action_id),
            "variant_name": variant["VariantName"],
            "model_name": variant["ModelName"],
            "memory_mb": memory,
            "max_concurrency": concurrency,
            "quiet_hour_utc": quiet,
            "act_at": act_at.isoformat(),
            "sample_payload": None if payload is None else parse_sample_payload(payload),
            "tags": _tags(way_back),  # the recreated endpoint keeps its tags
            "quotas": quotas,
        }

    def act(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        target = change.target
        sagemaker = clients.sagemaker
        if not _config_exists(sagemaker, target["config_name"]):
            try:
                sagemaker.create_endpoint_config(
                    EndpointConfigName=target["config_name"],
                    ProductionVariants=[
                        {
                            "VariantName": target["variant_name"],
                            "ModelName": target["model_name"],
                            "ServerlessConfig": {
                                "MemorySizeInMB": target["memory_mb"],
                                "MaxConcurrency": target["max_concurrency"],
                            },
                        }
                    ],
                    Tags=[{"Key": "endpoint-optimizer:action-id", "Value": change.action_id}],
                )
            except ClientError as error:  # a retry whose first reply was lost
                if "already exist" not in str(error):
                    raise
        self._converge(clients, change)

    def progress(self, clients: Clients, change: Change) -> Progress:
        return self._converge(clients, change)

    def _converge(self, clients: Clients, change: Change) -> Progress:
        """One step towards the serverless endpoint: delete the old one, create the new one, wait."""
        target = change.target
        sagemaker = clients.sagemaker
        name = change.endpoint_name
        described = _describe(sagemaker, name)
        if described is None:
            sagemaker.create_endpoint(
                EndpointName=name, EndpointConfigName=target["config_name"], Tags=target["tags"]
            )
            return Progress(state="waiting", detail="creating the serverless endpoint")
        status = described["EndpointStatus"]
        if described["EndpointConfigName"] == target["config_name"]:
            if status == "InService":
                return Progress(state="stable")
            if status == "Failed":
                return Progress(
                    state="failed", detail=f"serverless endpoint failed: {described.get('FailureReason')}"
                )
            return Progress(state="waiting", detail=f"serverless endpoint {status}")
        if status == "Deleting":
            return Progress(state="waiting", detail="the instance endpoint is being deleted")
        if status in ("Creating", "Updating", "SystemUpdating", "RollingBack"):
            return Progress(state="waiting", detail=f"the endpoint is {status}; delete after it settles")
        # A delete fails while scalable targets are registered: deregister them first (the way back has them).
        autoscaling = clients.autoscaling
        resource_ids = [
            f"endpoint/{name}/variant/{v['VariantName']}" for v in described["ProductionVariants"]
        ]
        registered = autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=resource_ids
        )["ScalableTargets"]
        for item in registered:
            try:
                autoscaling.deregister_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=item["ResourceId"],
                    ScalableDimension=item["ScalableDimension"],
                )
            except ClientError as error:
                if error_code(error) != "ObjectNotFoundException":
                    raise
        sagemaker.delete_endpoint(EndpointName=name)
        return Progress(state="waiting", detail="deleting the instance endpoint")

    def verify(self, clients: Clients, change: Change, way_back: WayBack) -> tuple[bool, str]:
        target = change.target
        described = _describe(clients.sagemaker, change.endpoint_name)
        if described is None:
            return False, "the endpoint does not exist"
        if (
            described["EndpointStatus"] != "InService"
            or described["EndpointConfigName"] != target["config_name"]
        ):
            return False, (
                f"{described['EndpointStatus']} on config {described['EndpointConfigName']}, "
                f"not InService on {target['config_name']}"
            )
        planned = {"MemorySizeInMB": target["memory_mb"], "MaxConcurrency": target["max_concurrency"]}
        current = _serverless_of(described) or {}
        if {k: current.get(k) for k in planned} != planned:
            return False, f"serverless config {current}, planned {planned}"
        size = f"serverless {target['memory_mb']} MB, MaxConcurrency {target['max_concurrency']}"
        payload = target.get("sample_payload")
        if not payload:
            return True, f"{size}: InService (verified by status: no {SAMPLE_PAYLOAD_TAG} tag)"
        ok, detail = self._invoke(
            clients, change.endpoint_name, payload, way_back.tags.get(SAMPLE_PAYLOAD_CONTENT_TYPE_TAG)
        )
        return ok, f"{size}: {detail}"

    def _invoke(
        self, clients: Clients, name: str, payload: dict[str, str], content_type_tag: str | None
    ) -> tuple[bool, str]:
        """A test invocation with the owner's sample payload: any answer but an error verifies it."""
        if "s3" in payload:
            bucket, key = payload["s3"].removeprefix("s3://").split("/", 1)
            got = clients.s3.get_object(Bucket=bucket, Key=key)
            head = got["Body"].read(MAX_SAMPLE_OBJECT_BYTES + 1)
            try:
                body, content_type = sample_request(key, head, got.get("ContentType"), content_type_tag)
            except UnreadablePayload as error:
                return False, f"the sample payload {payload['s3']} gives no request to send: {error}"
        else:
            body, content_type = payload["inline"].encode(), "application/json"
        runtime = clients.sagemaker_runtime
        try:
            runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType=content_type)
        except ClientError as error:
            return False, f"the test invocation failed: {error_code(error)}"
        return True, "InService, and the test invocation with the tagged sample payload answered"

    def finish(self, clients: Clients, change: Change) -> None:
        """After a rollback or an undo, the serverless config nobody uses is deleted."""
        config = change.target.get("config_name")
        if not config:
            return
        described = _describe(clients.sagemaker, change.endpoint_name)
        if described is not None and described["EndpointConfigName"] == config:
            return  # applied: it is the endpoint's config now
        try:
            clients.sagemaker.delete_endpoint_config(EndpointConfigName=config)
        except ClientError as error:
            if not is_missing(error):
                raise

    def roll_back(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        self.rollback_progress(clients, change, way_back)

    def rollback_progress(self, clients: Clients, change: Change, way_back: WayBack) -> Progress:
        """One step back to the way back: delete the serverless endpoint, recreate the config and models
        if deleted meanwhile, CreateEndpoint on the old config, then its autoscaling."""
        sagemaker = clients.sagemaker
        name = change.endpoint_name
        described = _describe(sagemaker, name)
        if described is None:
            recreate_models_and_config(sagemaker, way_back)
            sagemaker.create_endpoint(
                EndpointName=name, EndpointConfigName=way_back.config_name, Tags=_tags(way_back)
            )
            return Progress(state="waiting", detail="recreating the instance endpoint")
        status = described["EndpointStatus"]
        if described["EndpointConfigName"] != way_back.config_name:
            if status == "Deleting" or status in ("Creating", "Updating", "SystemUpdating"):
                return Progress(state="waiting", detail=f"the serverless endpoint is {status}")
            sagemaker.delete_endpoint(EndpointName=name)
            return Progress(state="waiting", detail="deleting the serverless endpoint")
        if status == "Failed":
            return Progress(
                state="failed", detail=f"instance endpoint failed: {described.get('FailureReason')}"
            )
        if status != "InService":
            return Progress(state="waiting", detail=f"the instance endpoint is {status}")
        if missing_autoscaling(clients.autoscaling, way_back):
            replay_autoscaling(clients.autoscaling, way_back)
            if missing_autoscaling(clients.autoscaling, way_back):
                return Progress(state="waiting", detail="replaying the autoscaling")
        return Progress(state="stable")


STEPS = ServerlessSteps()
