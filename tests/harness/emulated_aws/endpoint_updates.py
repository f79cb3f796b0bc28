"""The emulated AWS's endpoint updates (moto_patches' patch r; installed with `install`, undone by
remove_patches): what the apply workflow's blue/green, Graviton, scale-to-zero and serverless moves call.

moto 5.2.5 has no UpdateEndpoint (NotImplementedError) and no UpdateInferenceComponentRuntimeConfig.
Here, as AWS does (SageMaker API reference UpdateEndpoint / DescribeEndpoint, botocore 1.43 model, and
the developer guide pages named below, read 2026-12-01):

- UpdateEndpoint refuses, with a ValidationException: a request the botocore input shape forbids; an
  endpoint that does not exist; an endpoint that is not InService ("Cannot update in-progress
  endpoint"); a config that does not exist; an instance-based endpoint moved to a serverless config
  ("Updating a real-time inference endpoint to either an on-demand serverless endpoint or a serverless
  endpoint with Provisioned Concurrency is currently not supported", serverless-endpoints-update.html).
- Otherwise the endpoint is "Updating" (still on its old EndpointConfigName and variants) and the call
  returns {EndpointArn}. The update ends on the UPDATE_DESCRIBES-th DescribeEndpoint after it (a clock the
  tests drive without sleeping; `set_update_describes`). It ends:
  * on the new config (variants as moto's CreateEndpoint shows them: counts, weights,
    Current/DesiredServerlessConfig; RetainAllVariantProperties keeps the old counts and weights of
    variants of the same name unless ExcludeRetainedVariantProperties names them), LastModifiedTime
    advanced; or
  * rolled back, when an alarm of AutoRollbackConfiguration (or of the last deployment config, with
    RetainDeploymentConfig) is in ALARM in CloudWatch (same account and region): "If any alarms are
    tripped during a deployment, SageMaker rolls back" (deployment-guardrails-configuration). The
    endpoint is InService on the OLD config with no FailureReason: AWS has no "rolled back" status; a
    caller must compare EndpointConfigName with its target (the silent rollback); or
  * failed, after `fail_next_update(endpoint_name, reason)`: InService on the old config with
    FailureReason = reason.
- DescribeEndpoint shows LastDeploymentConfig (the update's DeploymentConfig) once one was given.
- UpdateEndpointWeightsAndCapacities on an endpoint being updated: the same in-progress refusal
  (moto would flip it to InService in the middle of the update). DeleteEndpoint while Updating works,
  as on AWS, and forgets the update.
- UpdateInferenceComponentRuntimeConfig(InferenceComponentName, DesiredRuntimeConfig{CopyCount >= 0})
  on the components patch f emulates: RuntimeConfig{DesiredCopyCount, CurrentCopyCount} take the new count
  at once (AWS reaches it in minutes), LastModifiedTime advances; an unknown component:
  ValidationException, as patch f's describe says it.

Not emulated: the traffic-shifting steps (canary, linear, baking, TerminationWaitInSeconds),
RollingUpdatePolicy's batches, PendingDeploymentSummary and VariantStatus, the guardrail exclusions
(variant names kept, Inf1 and Marketplace fallbacks), UpdateRollbackFailed. Nothing here is product code.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from emulated_aws.botocore_validation import validate_request, validation_message
from emulated_aws.moto_patches import _components

__all__ = [
    "UPDATE_DESCRIBES",
    "fail_next_update",
    "install",
    "set_update_describes",
    "update_describes",
]

# An update ends on this many DescribeEndpoint calls after UpdateEndpoint (1: the first one sees it done).
UPDATE_DESCRIBES = 2

_IN_SERVICE = "InService"
_UPDATING = "Updating"
_RETAINABLE = ("DesiredInstanceCount", "DesiredWeight", "DataCaptureConfig")


@dataclass
class _Settings:
    """The tests' knobs; back to their defaults on an emulator reset."""

    update_describes: int = UPDATE_DESCRIBES
    failures: dict[str, str] = field(default_factory=dict)  # endpoint name -> its next update's failure

    def reset(self) -> None:
        self.update_describes = UPDATE_DESCRIBES
        self.failures.clear()


@dataclass
class _PendingUpdate:
    """An UpdateEndpoint in progress: what the endpoint becomes when it ends well."""

    config_name: str
    variants: list[dict[str, Any]]
    data_capture_config: Any
    alarm_names: tuple[str, ...]
    failure_reason: str | None
    describes_left: int


# None until install(): install() puts fresh settings here through moto_patches' _replace, so
# remove_patches() takes them away again (and with them whatever a test set).
_settings: _Settings | None = None
_LOCK = threading.Lock()  # moto's server answers requests on several threads


def _active_settings() -> _Settings:
    if _settings is None:
        raise RuntimeError(
            "the endpoint-update emulation is not installed: call moto_patches.apply_patches()"
        )
    return _settings


def set_update_describes(describes: int) -> None:
    """Make every update started from now on end on its `describes`-th DescribeEndpoint (>= 1)."""
    if describes < 1:
        raise ValueError(f"an update ends on a DescribeEndpoint: describes must be >= 1, not {describes}")
    with _LOCK:
        _active_settings().update_describes = describes


def update_describes() -> int:
    """How many DescribeEndpoint calls an update started now takes."""
    with _LOCK:
        return _active_settings().update_describes


def fail_next_update(endpoint_name: str, reason: str) -> None:
    """Make the next UpdateEndpoint of `endpoint_name` (any account or region) fail: it ends InService on
    the old config with FailureReason `reason`."""
    with _LOCK:
        _active_settings().failures[endpoint_name] = reason


def _pending(backend: Any) -> dict[str, _PendingUpdate]:
    """The updates in progress of one moto SageMaker backend (emptied with it by a reset)."""
    store: dict[str, _PendingUpdate] | None = backend.__dict__.get("_emulated_endpoint_updates")
    if store is None:
        store = backend.__dict__.setdefault("_emulated_endpoint_updates", {})
    assert store is not None
    return store


@cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    error: Exception = ValidationError(message=message)
    return error


def _strictly_valid(response: Any, operation: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(response.params or {})
    problems = validate_request(_service_model(), operation, params)
    if problems:
        raise _validation_error(validation_message(problems))
    return params


def _arn(backend: Any, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{name}"


def _in_progress(backend: Any, endpoint_name: str) -> Exception:
    return _validation_error(
        f'Cannot update in-progress endpoint "{_arn(backend, "endpoint", endpoint_name)}".'
    )


def _is_serverless(variants: list[dict[str, Any]], key: str) -> bool:
    return bool(variants) and all(variant.get(key) for variant in variants)


def _retained(
    old: list[dict[str, Any]], new: list[dict[str, Any]], retained: set[str]
) -> list[dict[str, Any]]:
    """The new config's variant summaries with the old counts/weights of same-named variants kept."""
    before = {variant["VariantName"]: variant for variant in old}
    keys = {
        "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
        "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
    }
    result = []
    for variant in new:
        kept = dict(variant)
        previous = before.get(variant["VariantName"], {})
        for prop, members in keys.items():
            if prop in retained:
                for member in members:
                    if member in previous:
                        kept[member] = previous[member]
        result.append(kept)
    return result


def _alarms_in_alarm(backend: Any, alarm_names: tuple[str, ...]) -> list[str]:
    if not alarm_names:
        return []
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = cloudwatch_backends[backend.account_id][backend.region_name].alarms
    return [name for name in alarm_names if name in alarms and alarms[name].state_value == "ALARM"]


def _touch(endpoint: Any) -> None:
    """Advance LastModifiedTime, strictly (DescribeEndpoint shows milliseconds; a scanner re-reads an
    endpoint whose LastModifiedTime changed)."""
    from moto.core.utils import utcnow

    endpoint.last_modified_time = max(utcnow(), endpoint.last_modified_time + timedelta(milliseconds=1))


def _finish(backend: Any, endpoint: Any, update: _PendingUpdate) -> None:
    endpoint.endpoint_status = _IN_SERVICE
    _touch(endpoint)
    if update.failure_reason is not None:
        endpoint.failure_reason = update.failure_reason
        return
    if _alarms_in_alarm(backend, update.alarm_names):
        endpoint.failure_reason = None  # the auto rollback says nothing: the config name tells
        return
    endpoint.endpoint_config_name = update.config_name
    endpoint.production_variants = update.variants
    endpoint.data_capture_config = update.data_capture_config
    endpoint.failure_reason = None


def _advance(backend: Any, endpoint_name: str) -> None:
    """One DescribeEndpoint's worth of progress for an update of `endpoint_name`."""
    with _LOCK:
        updates = _pending(backend)
        update = updates.get(endpoint_name)
        endpoint = backend.endpoints.get(endpoint_name)
        if update is None or endpoint is None:
            return
        update.describes_left -= 1
        if update.describes_left <= 0:
            del updates[endpoint_name]
            _finish(backend, endpoint, update)


def update_endpoint(self: Any) -> Any:
    """SageMakerResponse.update_endpoint (moto has none)."""
    from moto.core.responses import ActionResult

    params = _strictly_valid(self, "UpdateEndpoint")
    backend = self.sagemaker_backend
    name, config_name = params["EndpointName"], params["EndpointConfigName"]
    with _LOCK:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise _validation_error(f"Could not find endpoint '{_arn(backend, 'endpoint', name)}'.")
        if endpoint.endpoint_status != _IN_SERVICE or name in _pending(backend):
            raise _in_progress(backend, name)
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            arn = _arn(backend, "endpoint-config", config_name)
            raise _validation_error(f"Could not find endpoint configuration '{arn}'.")
        new_variants: list[dict[str, Any]] = config.production_variants
        if not _is_serverless(endpoint.production_variants, "CurrentServerlessConfig") and any(
            variant.get("ServerlessConfig") for variant in new_variants
        ):
            # serverless-endpoints-update.html: instance-based -> serverless is not supported (recreate).
            raise _validation_error(
                f"Endpoint '{name}' is instance-based: updating an instance-based endpoint to a serverless "
                "endpoint configuration is not supported. Delete the endpoint and create it again."
            )
        retained = set()
        if params.get("RetainAllVariantProperties"):
            excluded = {
                item["VariantPropertyType"] for item in params.get("ExcludeRetainedVariantProperties") or []
            }
            retained = set(_RETAINABLE) - excluded
        deployment = params.get("DeploymentConfig")
        if deployment is None and params.get("RetainDeploymentConfig"):
            deployment = getattr(endpoint, "last_deployment_config", None)
        alarms = ((deployment or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
        settings = _active_settings()
        _pending(backend)[name] = _PendingUpdate(
            config_name=config_name,
            variants=_retained(
                endpoint.production_variants, endpoint._process_production_variants(new_variants), retained
            ),
            data_capture_config=(
                endpoint.data_capture_config
                if "DataCaptureConfig" in retained
                else config.data_capture_config
            ),
            alarm_names=tuple(alarm["AlarmName"] for alarm in alarms),
            failure_reason=settings.failures.pop(name, None),
            describes_left=settings.update_describes,
        )
        if deployment is not None:
            endpoint.last_deployment_config = deployment  # DescribeEndpoint's LastDeploymentConfig
        endpoint.endpoint_status = _UPDATING
        _touch(endpoint)
    return ActionResult({"EndpointArn": endpoint.arn})


def update_inference_component_runtime_config(self: Any) -> Any:
    """SageMakerResponse.update_inference_component_runtime_config (moto has none)."""
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    params = _strictly_valid(self, "UpdateInferenceComponentRuntimeConfig")
    backend = self.sagemaker_backend
    name = params["InferenceComponentName"]
    copies = int(params["DesiredRuntimeConfig"]["CopyCount"])
    with _LOCK:
        component = _components(backend).get(name)
        if component is None:
            arn = _arn(backend, "inference-component", name)
            raise _validation_error(f"Could not find inference component '{arn}'.")
        component["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
        component["LastModifiedTime"] = utcnow()
    return ActionResult({"InferenceComponentArn": component["InferenceComponentArn"]})


def install(replace: Callable[[Any, str, Any], None]) -> None:
    """Add the operations to moto through moto_patches' `_replace` (undone by remove_patches)."""
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    response_class: Any = SageMakerResponse
    backend_class: Any = SageMakerModelBackend
    api_class: Any = MotoAPIBackend
    original_describe = response_class.describe_endpoint
    original_delete = backend_class.delete_endpoint
    original_weights = backend_class.update_endpoint_weights_and_capacities
    original_reset = api_class.reset

    def describe_endpoint(self: Any) -> Any:
        _advance(self.sagemaker_backend, self._get_param("EndpointName"))
        return original_describe(self)

    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        original_delete(self, endpoint_name)
        with _LOCK:
            _pending(self).pop(endpoint_name, None)

    def update_endpoint_weights_and_capacities(
        self: Any, endpoint_name: str, desired_weights_and_capacities: list[dict[str, Any]]
    ) -> Any:
        with _LOCK:
            if endpoint_name in _pending(self):
                raise _in_progress(self, endpoint_name)
        return original_weights(self, endpoint_name, desired_weights_and_capacities)

    def reset(self: Any) -> None:
        original_reset(self)
        with _LOCK:
            if _settings is not None:
                _settings.reset()

    replace(sys.modules[__name__], "_settings", _Settings())
    replace(response_class, "update_endpoint", update_endpoint)
    replace(
        response_class, "update_inference_component_runtime_config", update_inference_component_runtime_config
    )
    # the update clock: each DescribeEndpoint moves an update in progress one step on
    replace(response_class, "describe_endpoint", describe_endpoint)
    # gap: an update in progress outlives its endpoint's DeleteEndpoint (AWS deletes it while Updating).
    replace(backend_class, "delete_endpoint", delete_endpoint)
    # gap: moto flips the endpoint to InService in the middle of an update; AWS refuses the call then.
    replace(backend_class, "update_endpoint_weights_and_capacities", update_endpoint_weights_and_capacities)
    # the tests' knobs go back to their defaults with the emulator's reset (POST /moto-api/reset)
    replace(api_class, "reset", reset)
