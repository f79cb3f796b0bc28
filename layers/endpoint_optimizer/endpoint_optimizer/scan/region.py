"""The scan stage: inventory plus metrics for one region of one account, as a snapshot.

Bounded concurrency (a thread pool), incremental (only endpoints whose LastModifiedTime changed are
described again), and a time budget: past it no new work starts, and the snapshot says what is missing
instead of the Lambda dying mid-scan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import (
    Endpoint,
    InferenceComponent,
    ScannedEndpoint,
    ScanSnapshot,
    UnscannedEndpoint,
)
from endpoint_optimizer.scan.inventory import (
    aware,
    describe_config,
    describe_endpoint,
    describe_inference_component,
    list_endpoint_summaries,
    list_inference_components,
    scalable_targets_by_resource,
    scheduled_actions_by_resource,
    tags_by_arn,
    variant_resource_id,
)
from endpoint_optimizer.scan.metrics import look_back_window, read_metrics
from endpoint_optimizer.scan.state import (
    CachedComponent,
    CachedEndpoint,
    ConfigInfo,
    ScanMemory,
    ScanStateStore,
)

Progress = Callable[[str, int, int], None]
DEADLINE_REASON = "not read: the scan reached its time budget"
DESCRIBE_SHARE = 0.75


class CallCounter:
    """API calls made by this scan, by operation (thread-safe): the scan's own cost report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, operation: str) -> None:
        with self._lock:
            self.counts[operation] = self.counts.get(operation, 0) + 1


class _Configs:
    """Endpoint configs, described at most once per scan and remembered across scans (immutable)."""

    def __init__(self, known: dict[str, ConfigInfo], describe: Callable[[str], ConfigInfo]) -> None:
        self._known = dict(known)
        self._describe = describe
        self._lock = threading.Lock()
        self._pending: dict[str, Future[ConfigInfo]] = {}

    def get(self, name: str) -> ConfigInfo:
        with self._lock:
            if name in self._known:
                return self._known[name]
            future = self._pending.get(name)
            owner = future is None
            if future is None:
                future = Future()
                self._pending[name] = future
        if owner:
            try:
                info = self._describe(name)
            except BaseException as error:
                future.set_exception(error)
                with self._lock:
                    self._pending.pop(name, None)
                raise
            with self._lock:
                self._known[name] = info
            future.set_result(info)
        return future.result()

    def remembered(self, in_use: set[str]) -> dict[str, ConfigInfo]:
        """Configs still referenced by an endpoint (described or cached); the rest are forgotten."""
        with self._lock:
            return {name: info for name, info in self._known.items() if name in in_use}


def _is_gone(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") in {"ValidationException", "ResourceNotFound"} and "Could not find" in str(
        details.get("Message", "")
    )


def scan_region(
    clients: Clients,
    *,
    account_id: str,
    lookback_days: int,
    now: datetime,
    state: ScanStateStore | None = None,
    max_workers: int = 8,
    time_budget_s: float | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ScanSnapshot:
    region = clients.region
    count = CallCounter()
    started = clock()

    def out_of_time() -> bool:
        return time_budget_s is not None and clock() - started > time_budget_s

    def out_of_describe_time() -> bool:
        # Describes stop at 75 % of the budget: the metric batches get the rest, so a partial snapshot
        # still carries signal for every endpoint it describes.
        return time_budget_s is not None and clock() - started > DESCRIBE_SHARE * time_budget_s

    def report(phase: str, done: int, total: int) -> None:
        if progress is not None:
            progress(phase, done, total)

    memory = state.load() if state is not None else ScanMemory()
    summaries = list_endpoint_summaries(clients.sagemaker, count)
    configs = _Configs(memory.configs, lambda name: describe_config(clients.sagemaker, name, count))
    unscanned: list[UnscannedEndpoint] = []
    endpoints: dict[str, Endpoint] = {}
    components_now: dict[str, CachedComponent] = {}

    pool = ThreadPoolExecutor(max_workers=max(1, max_workers))
    try:
        # Region-wide pages first, in parallel with the per-endpoint describes.
        tags_future = pool.submit(tags_by_arn, clients.tagging, count)
        targets_future = pool.submit(scalable_targets_by_resource, clients.autoscaling, count)
        actions_future = pool.submit(scheduled_actions_by_resource, clients.autoscaling, count)
        components_future = pool.submit(list_inference_components, clients.sagemaker, count)

        def describe(summary: dict[str, Any]) -> Endpoint | str:
            name = summary["EndpointName"]
            cached = memory.endpoints.get(name)
            if (
                cached is not None
                and cached.last_modified_at == aware(summary["LastModifiedTime"])
                and cached.endpoint.status == summary.get("EndpointStatus")
            ):
                return cached.endpoint
            if out_of_describe_time():
                return DEADLINE_REASON
            try:
                return describe_endpoint(
                    clients.sagemaker,
                    name,
                    account_id=account_id,
                    region=region,
                    config_for=configs.get,
                    count=count,
                )
            except ClientError as error:
                if _is_gone(error):
                    return "gone between ListEndpoints and DescribeEndpoint"
                raise

        futures = {summary["EndpointName"]: pool.submit(describe, summary) for summary in summaries}
        for done, (name, future) in enumerate(futures.items(), start=1):
            outcome = future.result()
            if isinstance(outcome, Endpoint):
                endpoints[name] = outcome
            else:
                unscanned.append(UnscannedEndpoint(name=name, reason=outcome))
            report("describe", done, len(futures))

        # Inference components: re-describe only those whose LastModifiedTime changed.
        def component(summary: dict[str, Any]) -> InferenceComponent | None:
            name = summary["InferenceComponentName"]
            cached = memory.components.get(name)
            if cached is not None and cached.last_modified_at == aware(summary["LastModifiedTime"]):
                return cached.component
            if out_of_describe_time():
                return None
            return describe_inference_component(clients.sagemaker, name, count)

        component_summaries = components_future.result()
        component_futures = [(summary, pool.submit(component, summary)) for summary in component_summaries]
        for summary, component_future in component_futures:
            found = component_future.result()
            if found is None:
                # An endpoint whose components were not all read could look idle: leave it out.
                unread = summary["EndpointName"]
                if unread in endpoints:
                    del endpoints[unread]
                    unscanned.append(
                        UnscannedEndpoint(name=unread, reason=f"inference components {DEADLINE_REASON}")
                    )
                continue
            components_now[found.name] = CachedComponent(
                last_modified_at=found.last_modified_at,
                endpoint_name=summary["EndpointName"],
                component=found,
            )
        tags = tags_future.result()
        targets = targets_future.result()
        actions = actions_future.result()
    except BaseException:
        # Fail now: do not wait for every queued describe (a large region would hit the Lambda timeout).
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

    by_endpoint: dict[str, list[InferenceComponent]] = {}
    for cached_component in components_now.values():
        by_endpoint.setdefault(cached_component.endpoint_name, []).append(cached_component.component)
    enriched: dict[str, Endpoint] = {}
    for name, endpoint in endpoints.items():
        resource_ids = [variant_resource_id(name, variant.name) for variant in endpoint.variants]
        enriched[name] = endpoint.model_copy(
            update={
                "tags": tags.get(endpoint.arn.lower(), {}),
                "scalable_targets": [t for rid in resource_ids for t in targets.get(rid, [])],
                "scheduled_actions": [a for rid in resource_ids for a in actions.get(rid, [])],
                "inference_components": sorted(by_endpoint.get(name, []), key=lambda c: c.name),
            }
        )

    start, end = look_back_window(now, lookback_days)
    metrics, skipped, failed = read_metrics(
        clients.cloudwatch,
        list(enriched.values()),
        start=start,
        end=end,
        max_workers=max_workers,
        count_call=count,
        out_of_time=out_of_time,
    )
    report("metrics", 1, 1)
    unscanned += [
        UnscannedEndpoint(name=name, reason=f"metrics {DEADLINE_REASON}") for name in sorted(skipped)
    ]
    unscanned += [
        UnscannedEndpoint(name=name, reason="metrics not read: a GetMetricData query did not complete")
        for name in sorted(failed - skipped)
    ]

    if state is not None:
        state.save(
            ScanMemory(
                endpoints={
                    name: CachedEndpoint(last_modified_at=endpoint.last_modified_at, endpoint=endpoint)
                    for name, endpoint in endpoints.items()
                },
                configs=configs.remembered({endpoint.config_name for endpoint in endpoints.values()}),
                components=components_now,
            )
        )
    return ScanSnapshot(
        account_id=account_id,
        region=region,
        scanned_at=now,
        lookback_days=lookback_days,
        endpoints=[
            ScannedEndpoint(endpoint=endpoint, metrics=metrics.get(name, []))
            for name, endpoint in enriched.items()
            if name not in skipped and name not in failed
        ],
        complete=not any(DEADLINE_REASON in item.reason for item in unscanned),
        unscanned=unscanned,
        api_calls=dict(sorted(count.counts.items())),
    )
