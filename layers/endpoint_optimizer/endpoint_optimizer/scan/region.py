"""The scan stage: inventory plus metrics for one region of one account, as a snapshot.

Bounded concurrency (a thread pool), incremental (only endpoints whose LastModifiedTime changed are
described again), and a time budget: past it no new work starts, and the snapshot says what is missing
instead of the Lambda dying mid-scan.

The phases, in order (`scan_region`): list the endpoints, and read the region-wide pages (tags,
autoscaling, inference components, the serverless quotas) while the changed endpoints and their configs
are described; describe the changed inference components; give each endpoint its tags, autoscaling
and components; read the metrics; remember what was described and assemble the snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import (
    Endpoint,
    InferenceComponent,
    ScalableTarget,
    ScannedEndpoint,
    ScanSnapshot,
    ScheduledAction,
    ServerlessQuotas,
    UnscannedEndpoint,
    VariantMetrics,
)
from endpoint_optimizer.scan.calls import CallCounter, Configs, TimeBudget
from endpoint_optimizer.scan.history import read_with_history
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
from endpoint_optimizer.scan.metrics import look_back_window
from endpoint_optimizer.scan.quotas import read_serverless_quotas
from endpoint_optimizer.scan.state import (
    CachedComponent,
    CachedEndpoint,
    ConfigInfo,
    EndpointHistory,
    ScanMemory,
    ScanStateStore,
)

Progress = Callable[[str, int, int], None]
DEADLINE_REASON = "not read: the scan reached its time budget"
GONE_REASON = "gone between ListEndpoints and DescribeEndpoint"
METRICS_FAILED_REASON = "metrics not read: a GetMetricData query did not complete"


def _is_gone(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") in {"ValidationException", "ResourceNotFound"} and "Could not find" in str(
        details.get("Message", "")
    )


@dataclass
class Inventory:
    """What the region holds, as far as the scan could read it within its budget."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # described (or unchanged since the state)
    components: dict[str, CachedComponent] = field(default_factory=dict)
    unscanned: list[UnscannedEndpoint] = field(default_factory=list)
    # The region-wide pages: tags by lower-case ARN; scalable targets and scheduled actions by resource id.
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    scalable_targets: dict[str, list[ScalableTarget]] = field(default_factory=dict)
    scheduled_actions: dict[str, list[ScheduledAction]] = field(default_factory=dict)
    # The account's serverless quotas in the region (two GetServiceQuota calls a region, not an endpoint).
    serverless_quotas: ServerlessQuotas | None = None


@dataclass(frozen=True)
class MetricReads:
    """The metrics phase: signal per endpoint, and the endpoints it could not read (which carry none)."""

    metrics: dict[str, list[VariantMetrics]]
    skipped: set[str]  # their batch would have started past the time budget
    failed: set[str]  # a query of theirs did not complete
    history: dict[str, EndpointHistory] = field(default_factory=dict)  # the series to remember
    series_requested: int = 0  # metric series asked of GetMetricData: what it bills

    def read(self, name: str) -> bool:
        return name not in self.skipped and name not in self.failed

    def unscanned(self) -> list[UnscannedEndpoint]:
        return [
            *(
                UnscannedEndpoint(name=name, reason=f"metrics {DEADLINE_REASON}")
                for name in sorted(self.skipped)
            ),
            *(
                UnscannedEndpoint(name=name, reason=METRICS_FAILED_REASON)
                for name in sorted(self.failed - self.skipped)
            ),
        ]


class RegionScan:
    """One scan of one region: its clients, call count, budget and the memory of the last scan; each
    method is a phase, or the work a phase hands to the pool's threads."""

    def __init__(
        self,
        clients: Clients,
        *,
        account_id: str,
        memory: ScanMemory,
        budget: TimeBudget,
        max_workers: int,
        progress: Progress | None,
    ) -> None:
        self.clients = clients
        self.account_id = account_id
        self.memory = memory
        self.budget = budget
        self.max_workers = max_workers
        self.progress = progress
        self.count = CallCounter()
        self.configs = Configs(memory.configs, self._describe_config)

    def _report(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    def _describe_config(self, name: str) -> ConfigInfo:
        return describe_config(self.clients.sagemaker, name, self.count)

    # ------------------------------------------------------------------------------ inventory phases
    def read_inventory(self) -> Inventory:
        """Endpoints listed, then on one pool: the region-wide pages in parallel with the describes."""
        summaries = list_endpoint_summaries(self.clients.sagemaker, self.count)
        inventory = Inventory()
        pool = ThreadPoolExecutor(max_workers=max(1, self.max_workers))
        try:
            # Region-wide pages first, in parallel with the per-endpoint describes.
            tags = pool.submit(tags_by_arn, self.clients.tagging, self.count)
            targets = pool.submit(scalable_targets_by_resource, self.clients.autoscaling, self.count)
            actions = pool.submit(scheduled_actions_by_resource, self.clients.autoscaling, self.count)
            components = pool.submit(list_inference_components, self.clients.sagemaker, self.count)
            quotas = pool.submit(read_serverless_quotas, self.clients.service_quotas, self.count)
            self.describe_endpoints(pool, summaries, inventory)
            self.describe_components(pool, components, inventory)
            inventory.tags = tags.result()
            inventory.scalable_targets = targets.result()
            inventory.scheduled_actions = actions.result()
            inventory.serverless_quotas = quotas.result()
        except BaseException:
            # Fail now: do not wait for every queued describe (a large region would hit the Lambda timeout).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return inventory

    def describe_endpoints(
        self, pool: ThreadPoolExecutor, summaries: list[dict[str, Any]], inventory: Inventory
    ) -> None:
        """Every listed endpoint, described again only if it changed since the last scan."""
        futures = {summary["EndpointName"]: pool.submit(self.endpoint_of, summary) for summary in summaries}
        for done, (name, future) in enumerate(futures.items(), start=1):
            outcome = future.result()
            if isinstance(outcome, Endpoint):
                inventory.endpoints[name] = outcome
            else:
                inventory.unscanned.append(UnscannedEndpoint(name=name, reason=outcome))
            self._report("describe", done, len(futures))

    def endpoint_of(self, summary: dict[str, Any]) -> Endpoint | str:
        """The endpoint (from the last scan if unchanged), or why it was not read (on a pool thread)."""
        name = summary["EndpointName"]
        cached = self.memory.endpoints.get(name)
        if (
            cached is not None
            and cached.last_modified_at == aware(summary["LastModifiedTime"])
            and cached.endpoint.status == summary.get("EndpointStatus")
        ):
            return cached.endpoint
        if self.budget.describe_share_spent():
            return DEADLINE_REASON
        try:
            return describe_endpoint(
                self.clients.sagemaker,
                name,
                account_id=self.account_id,
                region=self.clients.region,
                config_for=self.configs.get,
                count=self.count,
            )
        except ClientError as error:
            if _is_gone(error):
                return GONE_REASON
            raise

    def describe_components(
        self, pool: ThreadPoolExecutor, listed: Future[list[dict[str, Any]]], inventory: Inventory
    ) -> None:
        """Inference components: re-described only those whose LastModifiedTime changed."""
        summaries = listed.result()
        futures = [(summary, pool.submit(self.component_of, summary)) for summary in summaries]
        for summary, future in futures:
            found = future.result()
            if found is None:
                # An endpoint whose components were not all read could look idle: leave it out.
                unread = summary["EndpointName"]
                if unread in inventory.endpoints:
                    del inventory.endpoints[unread]
                    inventory.unscanned.append(
                        UnscannedEndpoint(name=unread, reason=f"inference components {DEADLINE_REASON}")
                    )
                continue
            inventory.components[found.name] = CachedComponent(
                last_modified_at=found.last_modified_at,
                endpoint_name=summary["EndpointName"],
                component=found,
            )

    def component_of(self, summary: dict[str, Any]) -> InferenceComponent | None:
        """The component (from the last scan if unchanged), or None past the budget (on a pool thread)."""
        name = summary["InferenceComponentName"]
        cached = self.memory.components.get(name)
        if cached is not None and cached.last_modified_at == aware(summary["LastModifiedTime"]):
            return cached.component
        if self.budget.describe_share_spent():
            return None
        return describe_inference_component(self.clients.sagemaker, name, self.count)

    # ------------------------------------------------------------------------------- metrics phase
    def read_metrics_of(
        self, endpoints: dict[str, Endpoint], *, now: datetime, lookback_days: int
    ) -> MetricReads:
        start, end = look_back_window(now, lookback_days)
        reads = read_with_history(
            self.clients.cloudwatch,
            list(endpoints.values()),
            self.memory.history,  # empty without a state: every series is read in full
            start=start,
            end=end,
            max_workers=self.max_workers,
            count_call=self.count,
            out_of_time=self.budget.spent,
        )
        self._report("metrics", 1, 1)
        return MetricReads(
            metrics=reads.metrics,
            skipped=reads.skipped,
            failed=reads.failed,
            history=reads.history,
            series_requested=reads.series_requested,
        )

    # ------------------------------------------------------------------------------ the scan's result
    def memory_after(self, inventory: Inventory, reads: MetricReads | None = None) -> ScanMemory:
        """What the next scan need not describe or read again: this scan's endpoints, their configs,
        components, and the metric history of the endpoints still listed."""
        return ScanMemory(
            endpoints={
                name: CachedEndpoint(last_modified_at=endpoint.last_modified_at, endpoint=endpoint)
                for name, endpoint in inventory.endpoints.items()
            },
            configs=self.configs.remembered(
                {endpoint.config_name for endpoint in inventory.endpoints.values()}
            ),
            components=inventory.components,
            history=reads.history if reads is not None else {},
        )


def with_region_facts(inventory: Inventory) -> dict[str, Endpoint]:
    """Each described endpoint with its tags, scalable targets, scheduled actions and components."""
    by_endpoint: dict[str, list[InferenceComponent]] = {}
    for cached in inventory.components.values():
        by_endpoint.setdefault(cached.endpoint_name, []).append(cached.component)
    enriched: dict[str, Endpoint] = {}
    for name, endpoint in inventory.endpoints.items():
        resource_ids = [variant_resource_id(name, variant.name) for variant in endpoint.variants]
        enriched[name] = endpoint.model_copy(
            update={
                "tags": inventory.tags.get(endpoint.arn.lower(), {}),
                "scalable_targets": [
                    t for rid in resource_ids for t in inventory.scalable_targets.get(rid, [])
                ],
                "scheduled_actions": [
                    a for rid in resource_ids for a in inventory.scheduled_actions.get(rid, [])
                ],
                "inference_components": sorted(by_endpoint.get(name, []), key=lambda c: c.name),
            }
        )
    return enriched


def assemble_snapshot(
    scan: RegionScan,
    endpoints: dict[str, Endpoint],
    unscanned: list[UnscannedEndpoint],
    reads: MetricReads,
    *,
    now: datetime,
    lookback_days: int,
    serverless_quotas: ServerlessQuotas | None = None,
) -> ScanSnapshot:
    return ScanSnapshot(
        account_id=scan.account_id,
        region=scan.clients.region,
        scanned_at=now,
        lookback_days=lookback_days,
        endpoints=[
            ScannedEndpoint(endpoint=endpoint, metrics=reads.metrics.get(name, []))
            for name, endpoint in endpoints.items()
            if reads.read(name)
        ],
        complete=not any(DEADLINE_REASON in item.reason for item in unscanned),
        unscanned=unscanned,
        api_calls=dict(sorted(scan.count.counts.items())),
        metric_series_requested=reads.series_requested,
        serverless_quotas=serverless_quotas,
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
    budget = TimeBudget(time_budget_s, clock)  # it starts before the state is read: that counts too
    scan = RegionScan(
        clients,
        account_id=account_id,
        memory=state.load() if state is not None else ScanMemory(),
        budget=budget,
        max_workers=max_workers,
        progress=progress,
    )
    inventory = scan.read_inventory()
    endpoints = with_region_facts(inventory)
    reads = scan.read_metrics_of(endpoints, now=now, lookback_days=lookback_days)
    if state is not None:
        state.save(scan.memory_after(inventory, reads))
    unscanned = [*inventory.unscanned, *reads.unscanned()]
    return assemble_snapshot(
        scan,
        endpoints,
        unscanned,
        reads,
        now=now,
        lookback_days=lookback_days,
        serverless_quotas=inventory.serverless_quotas,
    )
