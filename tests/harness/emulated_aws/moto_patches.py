"""The one place where the emulated AWS changes moto's behaviour (moto is pinned: these touch internals).

Each patch closes one measured gap between moto 5.2.5 and AWS (see docs: local emulation facts):

a. Lambda: run handler code in this process instead of Docker.
b. SageMaker: current instance types; duplicate CreateEndpoint refused; DescribeEndpoint's
   ProductionVariants[].DeployedImages, resolved when the variant is deployed.
c. CloudWatch GetMetricData: indexed, namespace-exact, 500-query limit, MaxDatapoints/NextToken paging.
d. Application Auto Scaling: inference-component and provisioned-concurrency scalable dimensions.
e. Step Functions: a UUID name when StartExecution has none; a notification when an execution ends.
f. SageMaker inference components (none implemented); config variants without ModelName.
g. Tagging API GetResources: TagsPerPage limits a page only when the caller sets it.
h. Step Functions Distributed Map: an integer ToleratedFailurePercentage parses; the tolerated failure
   threshold is enforced (States.ExceedToleratedFailureThreshold).
i. STS AssumeRole: the role must exist and its trust policy's sts:ExternalId condition must match.
j. S3 bucket policies: requests count as TLS (aws:SecureTransport), Bool conditions are evaluated.
o. Step Functions SendTaskFailure: the `cause` reaches the waiting task (moto drops it).
s. Step Functions `states:startExecution.sync:2` tasks: the request reaches StartExecution in its API's
   casing (moto passes the ASL's `StateMachineArn` through and botocore rejects it).
p. SageMaker Inference Recommender (none implemented): emulated in recommender.py / recommender_api.py.
q. CloudWatch GetMetricData percentiles (pNN) of statistic sets, as AWS allows them; none below zero.
r. SageMaker UpdateEndpoint (blue/green; alarm rollback; test hooks) and
   UpdateInferenceComponentRuntimeConfig (none implemented): emulated in endpoint_updates.py.

`apply_patches()` is idempotent. Nothing here is product code.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, unique
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "DEFAULT_MAX_DATAPOINTS",
    "MAX_METRIC_DATA_QUERIES",
    "LambdaContext",
    "apply_patches",
    "forget_ended_executions",
    "forget_warm_functions",
    "invocation_count",
    "patches_applied",
    "register_function_source",
    "registered_function_sources",
    "remove_patches",
    "sagemaker_instance_types",
    "wait_for_execution_end",
    "warm_handler_module",
]

MAX_METRIC_DATA_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800

_APPLY_LOCK = threading.Lock()
_APPLIED = threading.Event()
_originals: dict[str, Any] = {}


_MISSING = object()
_replaced: list[tuple[Any, str, Any]] = []  # (owner, attribute, what owner.__dict__ held before)


def _replace(owner: Any, attribute: str, new: Any) -> None:
    _replaced.append((owner, attribute, owner.__dict__.get(attribute, _MISSING)))
    setattr(owner, attribute, new)


def apply_patches() -> None:
    """Patch moto (in this process) once; later calls do nothing."""
    with _APPLY_LOCK:
        if _APPLIED.is_set():
            return
        _patch_lambda_runner()
        _patch_sagemaker()
        _patch_cloudwatch_get_metric_data()
        _patch_application_autoscaling()
        _patch_stepfunctions()
        _patch_sagemaker_inference_components()
        _patch_tagging_page_size()
        _patch_distributed_map()
        _patch_sts_trust_policies()
        _patch_policy_conditions()
        _patch_price_list_api()
        _patch_metric_statistics_and_target_paging()
        _patch_deregister_deletes_policies()
        _patch_send_task_failure_cause()
        _patch_inference_recommender()
        _patch_percentiles_of_statistic_sets()
        importlib.import_module("emulated_aws.endpoint_updates").install(_replace)
        _patch_start_execution_sync()
        _APPLIED.set()


def patches_applied() -> bool:
    """Whether apply_patches() is in effect (a test applying them for itself removes only its own)."""
    return _APPLIED.is_set()


def remove_patches() -> None:
    """Put moto back as it was (so moto used elsewhere in the same process, e.g. mock_aws unit tests,
    sees stock behaviour); later calls do nothing. apply_patches() may be called again afterwards."""
    with _APPLY_LOCK:
        if not _APPLIED.is_set():
            return
        while _replaced:
            owner, attribute, previous = _replaced.pop()
            if previous is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, previous)
        _APPLIED.clear()


# ---------------------------------------------------------------------------------------------------
# a. Lambda: in-process runner
# ---------------------------------------------------------------------------------------------------

# One lock for every invocation: handlers share os.environ and sys.modules while they run.
# Handlers never invoke another Lambda synchronously, so a re-entrant lock cannot deadlock.
_INVOKE_LOCK = threading.RLock()
_SOURCES: dict[str, Path] = {}
_WARM: dict[str, _WarmFunction] = {}
_INVOCATIONS: dict[str, int] = {}
_HANDLER_MODULE_PREFIX = "lambda_fn_"


@dataclass
class _WarmFunction:
    """A loaded handler module: the 'warm container' of one function."""

    code_dir: Path
    module: ModuleType
    # Sibling modules of app.py imported from code_dir, kept apart from other functions' modules.
    private_modules: dict[str, ModuleType] = field(default_factory=dict)


def register_function_source(function_name: str, code_dir: Path) -> None:
    """Tell the runner where `function_name`'s code lives (the CodeUri folder; Handler names the file)."""
    code_dir = Path(code_dir).resolve()
    if not code_dir.is_dir():
        raise FileNotFoundError(f"Lambda function {function_name!r}: code folder {code_dir} does not exist")
    with _INVOKE_LOCK:
        previous = _SOURCES.get(function_name)
        _SOURCES[function_name] = code_dir
        if previous != code_dir and function_name in _WARM:
            sys.modules.pop(_WARM.pop(function_name).module.__name__, None)


def registered_function_sources() -> dict[str, Path]:
    """A copy of the function name -> code folder registry."""
    with _INVOKE_LOCK:
        return dict(_SOURCES)


def forget_warm_functions() -> None:
    """Drop every loaded handler module: the next invocation of each function is a cold start.

    Also empties Powertools' parameter/secret cache (process-wide here, per container on AWS): its
    providers hold clients bound to the emulator's port and values from before a reset.
    """
    with _INVOKE_LOCK:
        for warm in _WARM.values():
            sys.modules.pop(warm.module.__name__, None)
        _WARM.clear()
        parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters.constants")
        if parameters is not None:
            parameters.DEFAULT_PROVIDERS.clear()


def warm_handler_module(function_name: str) -> ModuleType | None:
    """The loaded handler module of `function_name` (its module-level state), None before its first call."""
    with _INVOKE_LOCK:
        warm = _WARM.get(function_name)
        return warm.module if warm else None


def invocation_count(function_name: str) -> int:
    """How many times the runner has invoked `function_name` (for tests)."""
    with _INVOKE_LOCK:
        return _INVOCATIONS.get(function_name, 0)


class LambdaContext:
    """The small subset of the Lambda context object handlers use."""

    def __init__(self, fn: Any, request_id: str, deadline: float) -> None:
        self.function_name: str = fn.function_name
        self.function_version: str = str(fn.version)
        self.invoked_function_arn: str = str(fn.function_arn)
        self.memory_limit_in_mb: int = int(fn.memory_size)
        self.aws_request_id: str = request_id
        self.log_group_name: str = f"/aws/lambda/{fn.function_name}"
        now = datetime.now(UTC)
        self.log_stream_name: str = f"{now:%Y/%m/%d}/[{fn.version}]{request_id.replace('-', '')}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _function_environment(fn: Any) -> dict[str, str]:
    env = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "_HANDLER": str(fn.handler),
        }
    )
    return env


@contextmanager
def _overlaid_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def _private_modules(warm: _WarmFunction | None, code_dir: Path) -> Iterator[dict[str, ModuleType]]:
    """Put code_dir first on the import path and this function's own sibling modules in sys.modules.

    Modules first imported from code_dir are moved out of sys.modules afterwards, so two functions can
    each have a `helpers.py` without seeing each other's.
    """
    own = warm.private_modules if warm else {}
    shadowed = {name: sys.modules[name] for name in own if name in sys.modules}
    sys.modules.update(own)
    before = set(sys.modules)
    sys.path.insert(0, str(code_dir))
    try:
        yield own
    finally:
        with suppress(ValueError):
            sys.path.remove(str(code_dir))
        for name in set(sys.modules) - before:
            if name.startswith(_HANDLER_MODULE_PREFIX):
                continue
            module_file = getattr(sys.modules[name], "__file__", None)
            if module_file and Path(module_file).resolve().is_relative_to(code_dir):
                own[name] = sys.modules.pop(name)
        for name in own:
            sys.modules.pop(name, None)
        sys.modules.update(shadowed)


def _split_handler(handler: str | None) -> tuple[str, str]:
    """'app.handler' -> ('app.py', 'handler'); 'pkg/mod.fn' or 'pkg.mod.fn' -> ('pkg/mod.py', 'fn')."""
    module_path, _, attribute = (handler or "app.handler").rpartition(".")
    return module_path.replace(".", "/") + ".py", attribute


def _load_handler_module(function_name: str, code_dir: Path, handler_file: str) -> ModuleType:
    module_name = _HANDLER_MODULE_PREFIX + re.sub(r"\W", "_", function_name)
    path = code_dir / handler_file
    if not path.is_file():
        raise ImportError(f"Unable to import module '{handler_file}': no such file in {code_dir}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # a unique name: pydantic/dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _error_payload(exc: BaseException, request_id: str, error_type: str | None = None) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    stack = traceback.format_list(frames)
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": error_type or type(exc).__name__,
            "requestId": request_id,
            "stackTrace": stack,
        }
    )


def _invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replaces LambdaFunction._invoke_lambda (moto runs handlers only in Docker)."""
    function_name: str = self.function_name
    request_id = str(uuid.uuid4())
    # moto's invoke() turns an empty body into the string "{}"; Lambda hands the handler {}.
    if event is None or event == "{}":
        event = {}
    log_lines = [f"START RequestId: {request_id} Version: {self.version}"]
    started = time.monotonic()
    with _INVOKE_LOCK:
        _INVOCATIONS[function_name] = _INVOCATIONS.get(function_name, 0) + 1
        code_dir = _SOURCES.get(function_name)
        if code_dir is None:
            error: Exception = RuntimeError(
                f"emulated Lambda: no source registered for function {function_name!r} "
                "(call register_function_source)"
            )
            return _error_payload(error, request_id, "Runtime.ImportModuleError"), True, ""
        warm = _WARM.get(function_name)
        handler_file, handler_name = _split_handler(self.handler)
        with _overlaid_environ(_function_environment(self)), _private_modules(warm, code_dir) as own:
            if warm is None:
                log_lines.append("INIT_START (cold start)")
                try:
                    module = _load_handler_module(function_name, code_dir, handler_file)
                except Exception as exc:
                    return _error_payload(exc, request_id, "Runtime.ImportModuleError"), True, ""
                warm = _WarmFunction(code_dir=code_dir, module=module, private_modules=own)
                _WARM[function_name] = warm
            handler = getattr(warm.module, handler_name, None)
            if handler is None:
                error = AttributeError(f"Handler '{handler_name}' missing on module '{handler_file}'")
                return _error_payload(error, request_id, "Runtime.HandlerNotFound"), True, ""
            context = LambdaContext(self, request_id, started + float(self.timeout or 3))
            try:
                result = handler(event, context)
            except Exception as exc:
                payload, errored = _error_payload(exc, request_id), True
            else:
                try:
                    payload, errored = json.dumps(result), False
                except (TypeError, ValueError) as exc:
                    error = TypeError(f"Unable to marshal response: {exc}")
                    payload, errored = _error_payload(error, request_id, "Runtime.MarshalError"), True
    elapsed_ms = (time.monotonic() - started) * 1000
    log_lines.append(f"END RequestId: {request_id}")
    log_lines.append(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms")
    return payload, errored, "\n".join(log_lines)


def _patch_lambda_runner() -> None:
    from moto.awslambda import models as lambda_models

    function_class: Any = lambda_models.LambdaFunction
    _originals["LambdaFunction._invoke_lambda"] = function_class._invoke_lambda
    _originals["LambdaFunction.invoke"] = function_class.invoke
    original_invoke = function_class.invoke

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
        result = original_invoke(self, body, request_headers, response_headers)
        # moto labels an uncaught handler exception "Handled"; Lambda says "Unhandled".
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return result

    # gap: moto runs Lambda code only in Docker (LambdaFunction._invoke_lambda); run it in-process.
    _replace(function_class, "_invoke_lambda", _invoke_in_process)
    # gap: moto reports FunctionError "Handled" for an uncaught exception (AWS: "Unhandled").
    _replace(function_class, "invoke", invoke)


# ---------------------------------------------------------------------------------------------------
# b. SageMaker
# ---------------------------------------------------------------------------------------------------


def sagemaker_instance_types() -> frozenset[str]:
    """Every ProductionVariantInstanceType botocore knows (AWS's list, not moto's 2019 one)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape: Any = model.shape_for("ProductionVariantInstanceType")
    return frozenset(shape.enum)


def _patch_sagemaker() -> None:
    from moto.sagemaker import models as sm_models
    from moto.sagemaker.exceptions import ValidationError

    valid_types = sagemaker_instance_types()

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if instance_type not in valid_types:
            raise ValidationError(
                message=f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
                "Member must satisfy enum value set"
            )

    config_class: Any = sm_models.FakeEndpointConfig
    backend_class: Any = sm_models.SageMakerModelBackend
    _originals["FakeEndpointConfig.validate_instance_type"] = config_class.validate_instance_type
    original_create_endpoint = backend_class.create_endpoint
    _originals["SageMakerModelBackend.create_endpoint"] = original_create_endpoint

    def create_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
        if endpoint_name in self.endpoints:
            arn = self.endpoints[endpoint_name].arn
            raise ValidationError(message=f'Cannot create already existing endpoint "{arn}".')
        return original_create_endpoint(self, endpoint_name, endpoint_config_name, tags)

    endpoint_class: Any = sm_models.FakeEndpoint
    original_process = endpoint_class._process_production_variants

    def process_production_variants(self: Any, production_variants: list[dict[str, Any]]) -> Any:
        summaries = original_process(self, production_variants)
        _, _, _, region, account, _ = str(self.arn).split(":", 5)
        models = sm_models.sagemaker_backends[account][region]._models
        for summary, variant in zip(summaries, production_variants, strict=True):
            model = models.get(variant.get("ModelName") or "")
            images = _deployed_images(model) if model is not None else []
            if images:
                summary["DeployedImages"] = images
        return summaries

    # gap: moto validates endpoint-config instance types against a 2019 list (no c6g/c7g/m6g/g5/g6).
    _replace(config_class, "validate_instance_type", validate_instance_type)
    # gap: moto's CreateEndpoint silently overwrites an existing endpoint of the same name.
    _replace(backend_class, "create_endpoint", create_endpoint)
    # gap: moto's DescribeEndpoint has no ProductionVariants[].DeployedImages. Both CreateEndpoint and the
    # emulated UpdateEndpoint (endpoint_updates.py) make variant summaries here: resolved at deployment.
    _replace(endpoint_class, "_process_production_variants", process_production_variants)


def _deployed_images(model: Any) -> list[dict[str, Any]]:
    """DeployedImage{SpecifiedImage, ResolvedImage, ResolutionTime} of each of the model's containers,
    as AWS reports them (botocore 1.43 sagemaker DeployedImage, read 2026-12-01): the image as the model
    names it, and `registry/repository@sha256:<digest>` it resolved to when the variant was deployed (a
    digest derived from the name here: the same image always resolves the same)."""
    from moto.core.utils import utcnow

    containers = [model.primary_container] if model.primary_container else list(model.containers)
    resolved_at = utcnow()
    images = []
    for container in containers:
        image = str((container or {}).get("Image") or "")
        if not image:
            continue
        if "@" in image:
            resolved = image  # pinned by digest already
        else:
            repository, _, tag = image.rpartition(":")
            untagged = repository if repository and "/" not in tag else image  # a port is no tag
            resolved = f"{untagged}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
        images.append({"SpecifiedImage": image, "ResolvedImage": resolved, "ResolutionTime": resolved_at})
    return images


# ---------------------------------------------------------------------------------------------------
# c. CloudWatch GetMetricData
# ---------------------------------------------------------------------------------------------------

_SeriesKey = tuple[str, str, frozenset[tuple[str, str | None]]]
_ID_PATTERN = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _naive_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


@dataclass
class _Series:
    times: list[float] = field(default_factory=list)
    data: list[Any] = field(default_factory=list)
    is_sorted: bool = True

    def add(self, when: float, datum: Any) -> None:
        if self.times and when < self.times[-1]:
            self.is_sorted = False
        self.times.append(when)
        self.data.append(datum)

    def ensure_sorted(self) -> None:
        if not self.is_sorted:
            order = sorted(range(len(self.times)), key=self.times.__getitem__)
            self.times = [self.times[i] for i in order]
            self.data = [self.data[i] for i in order]
            self.is_sorted = True

    def between(self, start: float, end: float) -> tuple[list[float], list[Any]]:
        self.ensure_sorted()
        lo = bisect.bisect_left(self.times, start)
        hi = bisect.bisect_left(self.times, end)
        return self.times[lo:hi], self.data[lo:hi]


class _MetricIndex:
    """(namespace, metric name, dimension set) -> time-sorted datapoints, kept in step with the backend.

    moto's backend only ever appends to `metric_data`; the index follows the new tail on each query and
    rebuilds if the list was replaced or shrank.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.series: dict[_SeriesKey, _Series] = {}
        self.source_id = 0
        self.indexed = 0

    def refresh(self, metric_data: list[Any]) -> None:
        if id(metric_data) != self.source_id or len(metric_data) < self.indexed:
            self.series = {}
            self.source_id = id(metric_data)
            self.indexed = 0
        for datum in metric_data[self.indexed :]:
            key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
            self.series.setdefault(key, _Series()).add(_epoch(datum.timestamp), datum)
        self.indexed = len(metric_data)


def _metric_index(backend: Any) -> _MetricIndex:
    index: _MetricIndex | None = backend.__dict__.get("_emulated_metric_index")
    if index is None:
        index = backend.__dict__.setdefault("_emulated_metric_index", _MetricIndex())
    assert index is not None
    return index


def _statistic(stat: str, data: list[Any]) -> float | None:
    raw: list[float] = []
    total = 0.0
    count = 0.0
    low = math.inf
    high = -math.inf
    for datum in data:
        if hasattr(datum, "value"):
            value = float(datum.value)
            raw.append(value)
            total += value
            count += 1
            low = min(low, value)
            high = max(high, value)
        else:  # a statistic set (StatisticValues)
            total += float(datum.sum)
            count += float(datum.sample_count)
            low = min(low, float(datum.min))
            high = max(high, float(datum.max))
    if stat == "Sum":
        return total
    if stat == "SampleCount":
        return count
    if stat == "Average":
        return total / count if count else None
    if stat == "Minimum":
        return low
    if stat == "Maximum":
        return high
    match = _PERCENTILE.match(stat)
    if match and raw:  # nearest rank over raw values (statistic sets carry no distribution)
        raw.sort()
        rank = max(1, math.ceil(float(match.group(1)) / 100 * len(raw)))
        return raw[rank - 1]
    return None


def _validate_queries(queries: list[dict[str, Any]]) -> None:
    from moto.cloudwatch.exceptions import ValidationError

    if not queries:
        raise ValidationError("The parameter MetricDataQueries is required.")
    if len(queries) > MAX_METRIC_DATA_QUERIES:
        raise ValidationError(
            f"The collection MetricDataQueries must not have a size greater than {MAX_METRIC_DATA_QUERIES}."
        )
    ids = [str(q.get("Id", "")) for q in queries]
    if len(set(ids)) != len(ids):
        raise ValidationError("The value for field MetricDataQueries.Id must be unique.")
    for position, query in enumerate(queries, start=1):
        if not _ID_PATTERN.match(str(query.get("Id", ""))):
            raise ValidationError(
                f"The value {query.get('Id')!r} for parameter MetricDataQueries.member.{position}.Id is "
                "invalid: it must start with a lowercase letter and contain only letters, digits and _."
            )
        stat = query.get("MetricStat")
        if stat is None:
            continue
        period = int(stat.get("Period", 0))
        if period <= 0 or (period >= 60 and period % 60) or (period < 60 and period not in (1, 5, 10, 30)):
            raise ValidationError(
                f"The parameter MetricDataQueries.member.{position}.MetricStat.Period must be a multiple "
                "of 60 (or 1, 5, 10, 30 for high-resolution metrics)."
            )
        metric = stat.get("Metric") or {}
        if not metric.get("Namespace") or not metric.get("MetricName"):
            raise ValidationError(
                f"The parameters MetricDataQueries.member.{position}.MetricStat.Metric.Namespace and "
                "MetricName are required."
            )


def _indexed_get_metric_data(
    self: Any,
    queries: list[dict[str, Any]],
    start_time: datetime,
    end_time: datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    """Replaces CloudWatchBackend.get_metric_data: O(matching datapoints) per query, AWS's matching rules."""
    from moto.cloudwatch.exceptions import ValidationError

    _validate_queries(queries)
    if any("Expression" in q for q in queries):
        # metric math and Metrics Insights: moto's own (partial) implementation
        result: list[dict[str, Any]] = _originals["CloudWatchBackend.get_metric_data"](
            self, queries=queries, start_time=start_time, end_time=end_time, scan_by=scan_by
        )
        return result
    start = _epoch(start_time.replace(microsecond=0))
    end = _epoch(end_time.replace(microsecond=0))
    if start > end:
        raise ValidationError("The parameter EndTime must be greater than StartTime.")
    if start == end:
        raise ValidationError("The parameter StartTime must not equal parameter EndTime.")

    index = _metric_index(self)
    extra = [md for md in self.aws_metric_data if start <= _epoch(md.timestamp) < end]
    results: list[dict[str, Any]] = []
    with index.lock:
        index.refresh(self.metric_data)
        for query in queries:
            metric_stat = query["MetricStat"]
            metric = metric_stat["Metric"]
            namespace, name = metric["Namespace"], metric["MetricName"]
            dims = frozenset((d["Name"], d.get("Value")) for d in metric.get("Dimensions") or [])
            period = int(metric_stat["Period"])
            stat = metric_stat["Stat"]
            unit = metric_stat.get("Unit")
            series = index.series.get((namespace, name, dims))
            times, data = series.between(start, end) if series else ([], [])
            for md in extra:
                key = frozenset((d.name, d.value) for d in md.dimensions)
                if md.namespace == namespace and md.name == name and key == dims:
                    times.append(_epoch(md.timestamp))
                    data.append(md)
            buckets: dict[int, list[Any]] = {}
            for when, datum in zip(times, data, strict=True):
                if unit and (datum.unit or "None") != unit:
                    continue
                buckets.setdefault(int((when - start) // period), []).append(datum)
            values: list[float] = []
            stamps: list[datetime] = []
            for bucket in sorted(buckets, reverse=scan_by != "TimestampAscending"):
                value = _statistic(stat, buckets[bucket])
                if value is not None:
                    values.append(value)
                    stamps.append(_naive_utc(start + bucket * period))
            if query.get("ReturnData", True):
                results.append(
                    {
                        "id": query["Id"],
                        "label": query.get("Label") or f"{name} {stat}",
                        "values": values,
                        "timestamps": stamps,
                        "status_code": "Complete",
                    }
                )
    return results


class _InvalidNextToken(Exception):
    pass


def _request_fingerprint(params: dict[str, Any]) -> str:
    material = json.dumps(
        [
            params.get("MetricDataQueries"),
            params.get("StartTime"),
            params.get("EndTime"),
            params.get("ScanBy"),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _page_results(
    results: list[dict[str, Any]], max_datapoints: int, next_token: str | None, fingerprint: str
) -> tuple[list[dict[str, Any]], str | None]:
    offset = 0
    if next_token:
        try:
            token = json.loads(base64.urlsafe_b64decode(next_token.encode()))
            offset = int(token["offset"])
            if token["request"] != fingerprint or offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError) as exc:
            raise _InvalidNextToken from exc
    window_end = offset + max_datapoints
    page: list[dict[str, Any]] = []
    position = 0
    for result in results:
        count = len(result["values"])
        lo = min(max(offset - position, 0), count)
        hi = min(max(window_end - position, 0), count)
        page.append(
            {
                **result,
                "values": result["values"][lo:hi],
                "timestamps": result["timestamps"][lo:hi],
                "status_code": "PartialData" if hi < count else result["status_code"],
            }
        )
        position += count
    if window_end < position:
        raw = json.dumps({"offset": window_end, "request": fingerprint}).encode()
        return page, base64.urlsafe_b64encode(raw).decode()
    return page, None


def _patch_cloudwatch_get_metric_data() -> None:
    from moto.cloudwatch import models as cw_models
    from moto.cloudwatch import responses as cw_responses
    from moto.cloudwatch.exceptions import CloudWatchException, ValidationError
    from moto.core.responses import ActionResult

    class InvalidNextToken(CloudWatchException):
        code = "InvalidNextToken"

    backend_class: Any = cw_models.CloudWatchBackend
    response_class: Any = cw_responses.CloudWatchResponse
    _originals["CloudWatchBackend.get_metric_data"] = backend_class.get_metric_data
    _originals["CloudWatchResponse.get_metric_data"] = response_class.get_metric_data

    def get_metric_data(self: Any) -> Any:
        params = self._get_params()
        queries = params.get("MetricDataQueries", [])
        for query in queries:
            if "MetricStat" not in query and "Expression" not in query:
                raise ValidationError("The parameter MetricDataQueries.member.1.MetricStat is required.\n")
        scan_by = params.get("ScanBy") or "TimestampDescending"
        max_datapoints = int(params.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS)
        if max_datapoints < 1:
            raise ValidationError("The parameter MaxDatapoints must be greater than 0.")
        results = self.cloudwatch_backend.get_metric_data(
            start_time=params["StartTime"], end_time=params["EndTime"], queries=queries, scan_by=scan_by
        )
        try:
            page, token = _page_results(
                results, max_datapoints, params.get("NextToken"), _request_fingerprint(params)
            )
        except _InvalidNextToken:
            raise InvalidNextToken("The service returned an invalid NextToken.") from None
        body: dict[str, Any] = {"MetricDataResults": page, "Messages": []}
        if token:
            body["NextToken"] = token
        return ActionResult(body)

    # gap: moto's GetMetricData is O(points*periods*queries), drops Namespace with Dimensions, no cap.
    _replace(backend_class, "get_metric_data", _indexed_get_metric_data)
    # gap: moto's GetMetricData response ignores MaxDatapoints/NextToken; page like AWS.
    _replace(response_class, "get_metric_data", get_metric_data)


# ---------------------------------------------------------------------------------------------------
# d. Application Auto Scaling
# ---------------------------------------------------------------------------------------------------

_EXTRA_SCALABLE_DIMENSIONS = {
    "SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT": "sagemaker:inference-component:DesiredCopyCount",
    "SAGEMAKER_VARIANT_DESIRED_PROVISIONED_CONCURRENCY": "sagemaker:variant:DesiredProvisionedConcurrency",
}


def _patch_application_autoscaling() -> None:
    from moto.applicationautoscaling import models as aas_models
    from moto.applicationautoscaling import responses as aas_responses

    models_module: Any = aas_models
    responses_module: Any = aas_responses
    original: Any = models_module.ScalableDimensionValueSet
    _originals["ScalableDimensionValueSet"] = original
    members = {member.name: member.value for member in original}
    members.update(_EXTRA_SCALABLE_DIMENSIONS)
    make_enum: Any = Enum
    extended: Any = make_enum("ScalableDimensionValueSet", members)
    unique(extended)
    # gap: moto's enum lacks inference-component:DesiredCopyCount, variant:DesiredProvisionedConcurrency.
    _replace(models_module, "ScalableDimensionValueSet", extended)
    _replace(responses_module, "ScalableDimensionValueSet", extended)


# ---------------------------------------------------------------------------------------------------
# e. Step Functions: execution names and "execution ended" notifications
# ---------------------------------------------------------------------------------------------------

_EXECUTIONS_ENDED = threading.Condition()
_ENDED_ARNS: set[str] = set()


def wait_for_execution_end(execution_arn: str, timeout_s: float) -> bool:
    """Block until the Step Functions execution has ended (any status); False on timeout."""
    with _EXECUTIONS_ENDED:
        return _EXECUTIONS_ENDED.wait_for(lambda: execution_arn in _ENDED_ARNS, timeout=timeout_s)


def forget_ended_executions() -> None:
    """Clear the record of ended executions (after a reset, ARNs may be reused)."""
    with _EXECUTIONS_ENDED:
        _ENDED_ARNS.clear()


def _patch_stepfunctions() -> None:
    from moto.stepfunctions.parser import models as sfn_models
    from moto.stepfunctions.parser.backend import execution as sfn_execution

    comm_class: Any = sfn_execution.BaseExecutionWorkerCommunication
    backend_class: Any = sfn_models.StepFunctionsParserBackend
    original_terminated = comm_class.terminated
    original_start = backend_class.start_execution
    _originals["BaseExecutionWorkerCommunication.terminated"] = original_terminated
    _originals["StepFunctionsParserBackend.start_execution"] = original_start

    def terminated(self: Any) -> None:
        try:
            original_terminated(self)
        finally:
            with _EXECUTIONS_ENDED:
                _ENDED_ARNS.add(str(self.execution.exec_arn))
                _EXECUTIONS_ENDED.notify_all()

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original_start(
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
        )

    # gap: moto offers no way to learn that an execution ended except polling DescribeExecution.
    _replace(comm_class, "terminated", terminated)
    # gap: moto's interpreter names an execution started without a name "None" (AWS: a UUID).
    _replace(backend_class, "start_execution", start_execution)


# ---------------------------------------------------------------------------------------------------
# f. SageMaker inference components: moto 5.2.5 implements none of the operations, and an endpoint
#    config variant without ModelName (inference-component style) raises KeyError.
# ---------------------------------------------------------------------------------------------------
def _components(backend: Any) -> dict[str, dict[str, Any]]:
    store: dict[str, dict[str, Any]] | None = getattr(backend, "_emulated_inference_components", None)
    if store is None:
        store = {}
        backend._emulated_inference_components = store
    return store


def _patch_sagemaker_inference_components() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow
    from moto.sagemaker import models as sm_models
    from moto.sagemaker import responses as sm_responses
    from moto.sagemaker.exceptions import ValidationError

    backend_class = sm_models.SageMakerModelBackend
    original_validate = backend_class.validate_production_variants

    def validate_production_variants(self: Any, production_variants: list[dict[str, Any]]) -> None:
        with_model = [variant for variant in production_variants if "ModelName" in variant]
        original_validate(self, with_model)

    def not_found(self: Any, name: str) -> Exception:
        arn = f"arn:aws:sagemaker:{self.region}:{self.current_account}:inference-component/{name}"
        return ValidationError(message=f"Could not find inference component '{arn}'.")

    def create_inference_component(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("InferenceComponentName")
        store = _components(backend)
        if name in store:
            raise ValidationError(message=f'Cannot create already existing inference component "{name}".')
        endpoint_name = self._get_param("EndpointName")
        if endpoint_name not in backend.endpoints:
            raise ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"
        specification = self._get_param("Specification") or {}
        container = dict(specification.get("Container") or {})
        if container.get("Image"):
            container["DeployedImage"] = {"SpecifiedImage": container["Image"]}
        copies = (self._get_param("RuntimeConfig") or {}).get("CopyCount", 1)
        now = utcnow()
        store[name] = {
            "InferenceComponentName": name,
            "InferenceComponentArn": arn,
            "EndpointName": endpoint_name,
            "EndpointArn": backend.endpoints[endpoint_name].arn,
            "VariantName": self._get_param("VariantName"),
            "Specification": {**specification, "Container": container},
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
            "CreationTime": now,
            "LastModifiedTime": now,
            "InferenceComponentStatus": "InService",
        }
        return ActionResult({"InferenceComponentArn": arn})

    def describe_inference_component(self: Any) -> Any:
        name = self._get_param("InferenceComponentName")
        found = _components(self.sagemaker_backend).get(name)
        if found is None:
            raise not_found(self, name)
        return ActionResult(dict(found))

    def delete_inference_component(self: Any) -> Any:
        name = self._get_param("InferenceComponentName")
        if _components(self.sagemaker_backend).pop(name, None) is None:
            raise not_found(self, name)
        return EmptyResult()

    def list_inference_components(self: Any) -> Any:
        items = sorted(
            _components(self.sagemaker_backend).values(), key=lambda item: item["InferenceComponentName"]
        )
        endpoint = self._get_param("EndpointNameEquals")
        if endpoint:
            items = [item for item in items if item["EndpointName"] == endpoint]
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 10)
        page = items[start : start + size]
        keys = (
            "InferenceComponentName",
            "InferenceComponentArn",
            "EndpointName",
            "EndpointArn",
            "VariantName",
            "InferenceComponentStatus",
            "CreationTime",
            "LastModifiedTime",
        )
        result: dict[str, Any] = {"InferenceComponents": [{key: item[key] for key in keys} for item in page]}
        if start + size < len(items):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    _replace(backend_class, "validate_production_variants", validate_production_variants)
    response_class = sm_responses.SageMakerResponse
    _replace(response_class, "create_inference_component", create_inference_component)
    _replace(response_class, "describe_inference_component", describe_inference_component)
    _replace(response_class, "delete_inference_component", delete_inference_component)
    _replace(response_class, "list_inference_components", list_inference_components)


# ---------------------------------------------------------------------------------------------------
# g. Resource Groups Tagging API GetResources: moto applies TagsPerPage=100 even when the caller only
#    sets ResourcesPerPage, cutting pages of tagged endpoints short (AWS: TagsPerPage limits only
#    when it is given).
# ---------------------------------------------------------------------------------------------------
_TAGGING_REQUEST = threading.local()


def _patch_tagging_page_size() -> None:
    from moto.resourcegroupstaggingapi import models as tagging_models
    from moto.resourcegroupstaggingapi import responses as tagging_responses

    original_response = tagging_responses.ResourceGroupsTaggingAPIResponse.get_resources
    original_backend = tagging_models.ResourceGroupsTaggingAPIBackend.get_resources

    def get_resources_response(self: Any) -> Any:
        _TAGGING_REQUEST.tags_per_page_given = self._get_param("TagsPerPage") is not None
        try:
            return original_response(self)
        finally:
            _TAGGING_REQUEST.tags_per_page_given = True

    def get_resources_backend(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(_TAGGING_REQUEST, "tags_per_page_given", True):
            kwargs["tags_per_page"] = 10**9
        return original_backend(self, *args, **kwargs)

    _replace(tagging_responses.ResourceGroupsTaggingAPIResponse, "get_resources", get_resources_response)
    _replace(tagging_models.ResourceGroupsTaggingAPIBackend, "get_resources", get_resources_backend)


# ---------------------------------------------------------------------------------------------------
# h. Step Functions Distributed Map (moto 5.2.5's interpreter runs it, with two gaps):
#    1. its ASL grammar takes ToleratedFailurePercentage only as a decimal: `0` (valid on AWS, 0..100)
#       is a parse error, `0.0` parses;
#    2. it ignores the tolerated failure threshold: a failed child becomes `null` in the map's result and
#       the map succeeds. AWS: "The default percentage value is zero, which means that the workflow fails
#       if any one of its child workflow executions fails or times out"; the Map Run then fails with
#       States.ExceedToleratedFailureThreshold; "If you specify both values, the workflow fails when it
#       exceeds either value" (docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html,
#       read 2026-11-30).
# ---------------------------------------------------------------------------------------------------
def _decimal_failure_percentages(definition: str) -> str:
    """The definition with every integer ToleratedFailurePercentage written as a decimal (0 -> 0.0)."""
    try:
        document = json.loads(definition)
    except ValueError:
        return definition  # moto's parser reports what is wrong with it
    changed = False

    def walk(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    key == "ToleratedFailurePercentage"
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                ):
                    node[key] = float(value)
                    changed = True
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        return node

    walk(document)
    return json.dumps(document) if changed else definition


class _ThresholdsHaveEffect(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "declarations currently have no effect" not in record.getMessage()


class _AbsentPathIsAnAnswer(logging.Filter):
    """moto logs an error whenever a Choice's `IsPresent` finds the path absent: that is the answer
    `IsPresent: false`, not a failure (AWS logs nothing)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Exception=NoSuchJsonPathError" not in record.getMessage()


def _patch_distributed_map() -> None:
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as distributed,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
        ToleratedFailureCountDecl,
        ToleratedFailurePercentageDecl,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parser_class: Any = AmazonStateLanguageParser
    details_class: Any = EventDetails  # a TypedDict: every other key is optional on the wire
    original_parse = parser_class.parse
    map_class: Any = state_map.StateMap
    original_from_state_props = map_class.from_state_props
    component_class: Any = distributed.DistributedIterationComponent
    original_map_run = component_class._map_run

    def parse(definition: str) -> Any:
        return original_parse(_decimal_failure_percentages(definition))

    def from_state_props(self: Any, state_props: Any) -> None:
        original_from_state_props(self, state_props)
        if isinstance(self.iteration_component, component_class):
            # Which thresholds the state declares (moto fills both with 0 when absent).
            self.iteration_component._emulated_declared_thresholds = (
                state_props.get(ToleratedFailureCountDecl) is not None,
                state_props.get(ToleratedFailurePercentageDecl) is not None,
            )

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        original_map_run(self, env, eval_input)
        items = eval_input.map_run_record.item_counter
        failed, total = items.failed.get() + items.timed_out.get(), items.total.get()
        if failed == 0:
            return
        count_declared, percentage_declared = getattr(self, "_emulated_declared_thresholds", (False, False))
        exceeded = count_declared and failed > eval_input.tolerated_failure_count
        if percentage_declared or not count_declared:  # no threshold declared = 0 %
            exceeded = exceeded or failed * 100 > eval_input.tolerated_failure_percentage * total
        if not exceeded:
            return
        env.stack.pop()  # the item outputs the map run left for the state
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=error),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=details_class(
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=error.to_name(),
                        cause=f"{failed} of {total} child workflow executions failed or timed out, "
                        "above the tolerated failure threshold",
                    )
                ),
            )
        )

    # gap: an integer ToleratedFailurePercentage is an ASL parse error in moto (AWS accepts 0..100).
    _replace(parser_class, "parse", staticmethod(parse))
    # moto warns at every parse that tolerated failure declarations "have no effect": now they do.
    preprocessor_log = logging.getLogger("moto.stepfunctions.parser.asl.parse.preprocessor")
    if not any(isinstance(f, _ThresholdsHaveEffect) for f in preprocessor_log.filters):
        preprocessor_log.addFilter(_ThresholdsHaveEffect())
    evaluation_log = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    if not any(isinstance(f, _AbsentPathIsAnAnswer) for f in evaluation_log.filters):
        evaluation_log.addFilter(_AbsentPathIsAnAnswer())
    # gap: moto never enforces ToleratedFailureCount/Percentage; failed children become null results.
    _replace(map_class, "from_state_props", from_state_props)
    _replace(component_class, "_map_run", map_run)


# ---------------------------------------------------------------------------------------------------
# i. STS AssumeRole: moto hands out credentials for any role ARN ("the role does not need to exist").
#    AWS refuses (AccessDenied) a role that does not exist or whose trust policy does not allow the call;
#    here the role must exist in its account and, when an Allow statement of its trust policy has a
#    StringEquals sts:ExternalId condition, the request must carry that external id. Other condition
#    keys and the Principal are not evaluated. Assumed credentials already map to the role's account.
# ---------------------------------------------------------------------------------------------------
_ROLE_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:[^/]+/)*[\w+=,.@-]+$")


def _trust_allows(document: dict[str, Any], external_id: str | None) -> bool:
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        required: list[str] = []
        for operator, conditions in (statement.get("Condition") or {}).items():
            for key, value in conditions.items():
                if operator == "StringEquals" and key.lower() == "sts:externalid":
                    required += value if isinstance(value, list) else [value]
        if not required or external_id in required:
            return True
    return False


def _patch_sts_trust_policies() -> None:
    import urllib.parse

    from moto.iam.models import iam_backends
    from moto.sts import models as sts_models
    from moto.sts.exceptions import STSClientError

    backend_class: Any = sts_models.STSBackend
    original_assume_role = backend_class.assume_role

    def assume_role(self: Any, **kwargs: Any) -> Any:
        role_arn = str(kwargs.get("role_arn") or "")
        denied = STSClientError(
            "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        matched = _ROLE_ARN.match(role_arn)
        if matched is None:
            raise denied
        iam = iam_backends[matched["account"]][matched["partition"]]
        role = next((role for role in iam.roles.values() if role.arn == role_arn), None)
        if role is None:
            raise denied
        document = json.loads(urllib.parse.unquote(role.assume_role_policy_document))
        if not _trust_allows(document, kwargs.get("external_id")):
            raise denied
        return original_assume_role(self, **kwargs)

    # gap: moto's AssumeRole ignores whether the role exists and what its trust policy requires.
    _replace(backend_class, "assume_role", assume_role)


# ---------------------------------------------------------------------------------------------------
# j. S3 bucket policies: moto skips condition operators it does not implement (all but StringEquals)
#    and supplies no request context, so the standard "Deny s3:* when aws:SecureTransport is false"
#    statement denies every request. On AWS the SDK speaks HTTPS: aws:SecureTransport is true and the
#    statement does not apply. Here requests count as TLS (the emulator's plain HTTP on localhost stands
#    for the SDK's HTTPS) and Bool conditions on aws:SecureTransport are evaluated.
# ---------------------------------------------------------------------------------------------------
_REQUEST_CONTEXT = {"aws:securetransport": "true"}


def _bool_conditions_hold(statement: dict[str, Any]) -> bool:
    for operator, conditions in (statement.get("Condition") or {}).items():
        if operator.removesuffix("IfExists") != "Bool":
            continue
        for key, expected in conditions.items():
            actual = _REQUEST_CONTEXT.get(key.lower())
            values = expected if isinstance(expected, list) else [expected]
            if actual is not None and actual not in [str(value).lower() for value in values]:
                return False
    return True


def _patch_policy_conditions() -> None:
    from moto.iam import access_control

    statement_class: Any = access_control.IAMPolicyStatement
    original_is_action_permitted = statement_class.is_action_permitted

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        if not _bool_conditions_hold(self._statement):
            return access_control.PermissionResult.NEUTRAL  # the statement does not apply
        return original_is_action_permitted(self, action, resource, principal, incoming_condition_values)

    # gap: moto ignores Bool conditions and has no aws:SecureTransport: a TLS-only Deny denies everything.
    _replace(statement_class, "is_action_permitted", is_action_permitted)


# ---------------------------------------------------------------------------------------------------
# k. Price List API: moto has none and answers HTTP 500 (retried for seconds). The emulator answers as
#    AWS does to a caller without pricing:GetProducts, so the product's bundled-price fallback runs.
# ---------------------------------------------------------------------------------------------------
def _patch_price_list_api() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original_call = DomainDispatcherApplication.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("AWSPriceListService."):
            body = json.dumps(
                {
                    "__type": "AccessDeniedException",
                    "Message": "The emulated AWS has no Price List API (moto 5.2.5 does not implement it).",
                }
            ).encode()
            start_response(
                "400 Bad Request",
                [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return original_call(self, environ, start_response)

    _replace(DomainDispatcherApplication, "__call__", call)


# ---------------------------------------------------------------------------------------------------
# l. CloudWatch GetMetricStatistics: moto scans every stored datapoint per call (0.5 s a call at the
#    bench's scale) and has no 1,440-datapoint limit. m. Application Auto Scaling
#    DescribeScalableTargets: moto's NextToken is always "49" after the first page, so a paginator over
#    more than 100 targets fails.
# ---------------------------------------------------------------------------------------------------
def _indexed_get_metric_statistics(  # noqa: PLR0917 - moto's own signature
    self: Any,
    namespace: str,
    metric_name: str,
    start_time: datetime,
    end_time: datetime,
    period: int,
    stats: list[str],
    dimensions: list[dict[str, str]],
    unit: str | None = None,
) -> list[Any]:
    """Replaces CloudWatchBackend.get_metric_statistics: the GetMetricData index, exact dimensions,
    periods aligned on StartTime, and AWS's 1,440-datapoint limit (moto scans every datapoint)."""
    from moto.cloudwatch.exceptions import InvalidParameterCombination, InvalidParameterValue
    from moto.cloudwatch.models import Statistics

    start = _epoch(start_time.replace(microsecond=0))
    end = _epoch(end_time.replace(microsecond=0))
    if start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    requested = int(-(-(end - start) // period))
    if requested > 1440:
        raise InvalidParameterCombination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of 1,440. You may "
            "reduce the datapoints requested by increasing Period, or decreasing the time range."
        )
    key = (namespace, metric_name, frozenset((d["Name"], d.get("Value")) for d in dimensions or []))
    index = _metric_index(self)
    with index.lock:
        index.refresh(self.metric_data)
        series = index.series.get(key)
        times, data = series.between(start, end) if series else ([], [])
    buckets: dict[int, list[Any]] = {}
    for when, datum in zip(times, data, strict=True):
        if unit and (datum.unit or "None") != unit:
            continue
        buckets.setdefault(int((when - start) // period), []).append(datum)
    result = []
    for bucket in sorted(buckets):
        statistics = Statistics(stats, _naive_utc(start + bucket * period))
        statistics.metric_data = buckets[bucket]
        statistics.unit = buckets[bucket][-1].unit
        result.append(statistics)
    return result


def _describe_scalable_targets(self: Any) -> str:
    """Replaces ApplicationAutoScalingResponse.describe_scalable_targets: moto's NextToken is always
    "49" after the first page, so a paginator over more than 100 targets fails (same token twice)."""
    from moto.applicationautoscaling.responses import _build_target

    self._validate_params()
    targets = self.applicationautoscaling_backend.describe_scalable_targets(
        self._get_param("ServiceNamespace"),
        self._get_param("ResourceIds"),
        self._get_param("ScalableDimension"),
    )
    max_results = self._get_int_param("MaxResults") or 50
    marker = self._get_param("NextToken")
    start = int(marker) + 1 if marker else 0
    page = targets[start : start + max_results]
    next_token = str(start + max_results - 1) if len(targets) > start + max_results else None
    return json.dumps({"ScalableTargets": [_build_target(t) for t in page], "NextToken": next_token})


def _patch_metric_statistics_and_target_paging() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.cloudwatch.models import CloudWatchBackend

    _replace(CloudWatchBackend, "get_metric_statistics", _indexed_get_metric_statistics)
    _replace(ApplicationAutoScalingResponse, "describe_scalable_targets", _describe_scalable_targets)


# ---------------------------------------------------------------------------------------------------
# n. Application Auto Scaling DeregisterScalableTarget: "Deregistering a scalable target deletes the
#    scaling policies and the scheduled actions that are associated with it" (AWS API reference,
#    DeregisterScalableTarget); moto keeps them, which would hide a lost policy.
# ---------------------------------------------------------------------------------------------------
def _patch_deregister_deletes_policies() -> None:
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend

    original = ApplicationAutoscalingBackend.deregister_scalable_target

    def deregister_scalable_target(self: Any, namespace: str, r_id: str, dimension: str) -> None:
        original(self, namespace, r_id, dimension)
        self.policies = {
            key: policy
            for key, policy in self.policies.items()
            if not (policy.resource_id == r_id and policy.scalable_dimension == dimension)
        }
        self.scheduled_actions = [
            action
            for action in self.scheduled_actions
            if not (action.resource_id == r_id and action.scalable_dimension == dimension)
        ]

    _replace(ApplicationAutoscalingBackend, "deregister_scalable_target", deregister_scalable_target)


# ---------------------------------------------------------------------------------------------------
# o. Step Functions SendTaskFailure: the `cause` reaches the waiting task (a Catch's $.error.Cause), as
#    in AWS ("cause: A more detailed explanation of the cause of the failure", SendTaskFailure API
#    reference); moto 5.2.5's response handler reads only `error` and drops it.
# ---------------------------------------------------------------------------------------------------
def _patch_send_task_failure_cause() -> None:
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    _replace(StepFunctionResponse, "send_task_failure", send_task_failure)

    # moto 5.2.5 looks for a task token in every execution, dereferencing `exec_worker.env`, which is None
    # until the execution's thread starts: a SendTaskFailure (a rejected card) while "Apply action"
    # starts an apply execution failed with AttributeError (HTTP 500, retried by botocore). Every caller of
    # `_get_executions` reads `exec_worker.env`; an execution not started yet holds no token, no map run.
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    every_execution = StepFunctionsParserBackend._get_executions

    def started_executions(self: Any, execution_status: Any = None) -> list[Any]:
        return [
            execution
            for execution in every_execution(self, execution_status)
            if getattr(execution.exec_worker, "env", None) is not None
        ]

    _replace(StepFunctionsParserBackend, "_get_executions", started_executions)


# ---------------------------------------------------------------------------------------------------
# p. SageMaker Inference Recommender: moto 5.2.5 implements none of its operations.
# ---------------------------------------------------------------------------------------------------
def _patch_inference_recommender() -> None:
    from emulated_aws import recommender_api

    recommender_api.install(_replace)


# ---------------------------------------------------------------------------------------------------
# q. CloudWatch percentiles (pNN) of statistic sets. "CloudWatch needs raw data points to calculate
#    percentile statistics. If you publish data using a statistic set instead, you can only retrieve
#    percentile statistics for this data if one of the following conditions is true: The SampleCount
#    value of the statistic set is 1. The Min and the Max values of the statistic set are equal.
#    Percentile statistics are not available for metrics when any of the metric values are negative
#    numbers." (botocore 1.43 cloudwatch GetMetricStatistics documentation, read 2026-12-01.) Patch c
#    answers pNN over raw values only and silently leaves statistic sets out of the rank.
# ---------------------------------------------------------------------------------------------------
def _statistic_with_percentile_sets(stat: str, data: list[Any]) -> float | None:
    """Replaces patch c's _statistic for pNN: raw values and qualifying statistic sets (each as
    SampleCount values of its Min) ranked together, nearest rank; a period holding a statistic set that
    does not qualify, or a negative value, has no percentile (no datapoint)."""
    match = _PERCENTILE.match(stat)
    if match is None:
        original: float | None = _originals["_statistic"](stat, data)
        return original
    weighted: list[tuple[float, float]] = []  # (value, how many samples have it)
    for datum in data:
        if hasattr(datum, "value"):
            weighted.append((float(datum.value), 1.0))
        elif float(datum.sample_count) == 1 or float(datum.min) == float(datum.max):
            weighted.append((float(datum.min), max(1.0, float(datum.sample_count))))
        else:
            return None
    if not weighted or min(value for value, _ in weighted) < 0:
        return None
    weighted.sort()
    rank = max(1.0, math.ceil(float(match.group(1)) / 100 * sum(weight for _, weight in weighted)))
    seen = 0.0
    for value, weight in weighted:
        seen += weight
        if seen >= rank:
            return value
    return weighted[-1][0]


def _patch_percentiles_of_statistic_sets() -> None:
    module = sys.modules[__name__]
    _originals["_statistic"] = _statistic
    # gap: patch c's pNN leaves statistic sets out; _indexed_get_metric_data looks _statistic up per call.
    _replace(module, "_statistic", _statistic_with_percentile_sets)


# ---------------------------------------------------------------------------------------------------
# s. Step Functions `arn:aws:states:::states:startExecution(.sync:2)`: the ASL names the parameters as the
#    Step Functions integration documents them (StateMachineArn, Name, Input: "Start a new AWS Step
#    Functions state machine execution", Step Functions developer guide, read 2026-12-01); moto 5.2.5 hands
#    them to botocore unchanged, whose StartExecution takes stateMachineArn, name, input, so every such task
#    failed with States.Runtime. Its wait between two DescribeExecution polls (0.5 s) is cut for tests.
# ---------------------------------------------------------------------------------------------------
def _patch_start_execution_sync() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters

    def normalise(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        if service_action_name is None:
            for key in [key for key in parameters if key[:1].isupper()]:
                parameters[key[0].lower() + key[1:]] = parameters.pop(key)

    _replace(StateTaskServiceSfn, "_normalise_parameters", normalise)
    original_eval = StateTaskServiceSfn._eval_service_task

    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        """And the reply back in the integration's casing (ExecutionArn, StartDate), as the .sync:2
        resolver and the task's output read it."""
        original_eval(self, env, *args, **kwargs)
        reply = env.stack[-1]
        if isinstance(reply, dict):
            env.stack[-1] = {key[:1].upper() + key[1:]: value for key, value in reply.items()}

    _replace(StateTaskServiceSfn, "_eval_service_task", eval_service_task)
    original_sync2 = StateTaskServiceSfn._build_sync2_resolver

    def build_sync2_resolver(self: Any, *args: Any, **kwargs: Any) -> Any:
        """The finished child's DescribeExecution in the integration's casing: `Output` (parsed JSON)."""
        resolve: Any = original_sync2(self, *args, **kwargs)

        def resolved() -> Any:
            reply = resolve()
            if isinstance(reply, dict):
                return {key[:1].upper() + key[1:]: value for key, value in reply.items()}
            return reply

        return resolved

    _replace(StateTaskServiceSfn, "_build_sync2_resolver", build_sync2_resolver)
    _replace(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.02)
