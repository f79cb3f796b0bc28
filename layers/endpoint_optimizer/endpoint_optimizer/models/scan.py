"""What a scan sees: endpoints, their variants and metrics, the targets read and those that failed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_MONTH = 730  # AWS pricing pages quote monthly cost at 730 hours.
# RejectionCooldownDays default: days a rejected endpoint is not proposed again (template parameter).
DEFAULT_REJECTION_COOLDOWN_DAYS = 14


class Action(StrEnum):
    """The fix ladder (docs/architecture: section 2). Names are part of the plan contract."""

    PARK = "park"
    SCALE_TO_ZERO = "scale_to_zero"
    MIGRATE_SERVERLESS = "migrate_serverless"
    RIGHTSIZE = "rightsize"
    MIGRATE_GRAVITON = "migrate_graviton"
    SCHEDULE = "schedule"
    CONSOLIDATE = "consolidate"
    NONE = "none"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Variant(Model):
    name: str
    instance_type: str | None = None
    instance_count: int = 0
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None
    serverless_provisioned_concurrency: int | None = None
    model_name: str | None = None
    # The container image as deployed (DescribeEndpoint DeployedImages.SpecifiedImage): the arm64 check.
    image: str | None = None
    # ManagedInstanceScaling (inference-component endpoints): the floor SageMaker keeps.
    managed_min_instances: int | None = None
    managed_max_instances: int | None = None

    @property
    def is_serverless(self) -> bool:
        return self.serverless_memory_mb is not None


class ScalableTarget(Model):
    """An Application Auto Scaling target on a variant: kept in the snapshot so `restore` re-registers it."""

    resource_id: str
    scalable_dimension: str
    min_capacity: int
    max_capacity: int


class ScheduledAction(Model):
    resource_id: str
    name: str
    schedule: str
    scalable_dimension: str
    min_capacity: int | None = None
    max_capacity: int | None = None


class InferenceComponent(Model):
    name: str
    variant_name: str | None = None
    status: str
    created_at: datetime
    last_modified_at: datetime
    model_name: str | None = None
    image: str | None = None
    current_copies: int | None = None
    desired_copies: int | None = None
    cpu_cores: float | None = None
    min_memory_mb: int | None = None
    accelerators: float | None = None


class Endpoint(Model):
    name: str
    arn: str
    account_id: str
    region: str
    status: str
    created_at: datetime
    last_modified_at: datetime
    config_name: str
    tags: dict[str, str] = Field(default_factory=dict)
    variants: list[Variant] = Field(default_factory=list)
    shadow_variants: list[Variant] = Field(default_factory=list)
    scalable_targets: list[ScalableTarget] = Field(default_factory=list)
    scheduled_actions: list[ScheduledAction] = Field(default_factory=list)
    inference_components: list[InferenceComponent] = Field(default_factory=list)
    async_inference: bool = False
    data_capture: bool = False
    vpc: bool = False
    network_isolation: bool = False


class VariantMetrics(Model):
    """Signal of one variant (EndpointName + VariantName) or one inference component
    (InferenceComponentName) over the look-back, each at the coarsest resolution its decision needs.

    Invocations are hourly (traffic patterns: idle, sporadic, business hours). Utilisation, latency and
    errors are daily statistics: enough to tell "present every day" and "peak under X %", and 24 times
    fewer datapoints to fetch and parse.
    """

    variant_name: str
    scope: Literal["variant", "inference_component"] = "variant"
    window_start: datetime | None = None  # hour 0 of `invocations_by_hour` (UTC)
    window_hours: int
    invocations_total: float = 0.0
    hours_with_invocations: int = 0
    invocation_datapoints: int = 0
    # Sparse hourly series: (hour index from the window start, invocations) for hours with a datapoint.
    invocations_by_hour: list[tuple[int, float]] = Field(default_factory=list)
    window_days: int = 0
    cpu_days_reported: int = 0
    cpu_max_percent: float | None = None
    cpu_avg_percent: float | None = None
    memory_max_percent: float | None = None
    gpu_max_percent: float | None = None
    gpu_memory_max_percent: float | None = None
    # The daily maxima behind cpu_max_percent and gpu_max_percent, as published (sums over vCPUs / GPUs),
    # sparse (day index from window_start, value): what lets the ladder compare the recent part of the
    # window with the rest. Optional: empty in snapshots written before they were read.
    cpu_max_by_day: list[tuple[int, float]] = Field(default_factory=list)
    gpu_max_by_day: list[tuple[int, float]] = Field(default_factory=list)
    model_latency_avg_us: float | None = None
    errors_5xx_total: float | None = None
    datapoints: int = 0


class ScannedEndpoint(Model):
    endpoint: Endpoint
    metrics: list[VariantMetrics] = Field(default_factory=list)


class UnscannedEndpoint(Model):
    """Listed but not fully read this run (deadline, or gone between list and describe)."""

    name: str
    reason: str


# The account's Serverless Inference quotas per region, Service Quotas service code `sagemaker` (quota codes
# and AWS default values as ListAWSDefaultServiceQuotas lists them: "Maximum number of serverless
# endpoints" L-99AD19BF, 5; "Maximum total concurrency that can be allocated across all serverless
# endpoints" L-96300102, 10 -- gruntwork-io/terraform-aws-utilities docs/quotas.md, 2024-02-10; the
# concurrency code also in public deployment notes, 2025-2026; read 2026-12-01). Accounts have been seen
# to start at these values (re:Post QUY0gXNLrdTH6eqqA4hv5FeA, "dropped from 200 to 10"), below the 2023
# developer guide's 50 endpoints and 1000 concurrency: the lowest, so a quota not read is never
# overestimated. The scan reads them (scan/quotas.py), the serverless rung counts against them
# (decide/rules/serverless.py), and apply checks them again (act/serverless.py).
SERVICE_QUOTAS_SAGEMAKER = "sagemaker"
SERVERLESS_ENDPOINTS_QUOTA_CODE = "L-99AD19BF"
SERVERLESS_CONCURRENCY_QUOTA_CODE = "L-96300102"
SERVERLESS_ENDPOINTS_QUOTA_NAME = "maximum number of serverless endpoints"
SERVERLESS_CONCURRENCY_QUOTA_NAME = "maximum total concurrency"
DEFAULT_SERVERLESS_ENDPOINTS_QUOTA = 5
DEFAULT_SERVERLESS_CONCURRENCY_QUOTA = 10


class Quota(Model):
    """One Service Quotas value as the scan read it, or the AWS default it assumed (and why)."""

    code: str  # the quota code, e.g. L-96300102
    value: int
    # "service_quotas": the account's applied value; "default": not read, the AWS default assumed.
    source: Literal["service_quotas", "default"] = "service_quotas"
    note: str | None = None  # why it was not read (the error code), when source is "default"

    def cite(self) -> str:
        """How a reason names it: "Service Quotas L-96300102", plus what was assumed when not read."""
        if self.source == "service_quotas":
            return f"Service Quotas {self.code}"
        return f"Service Quotas {self.code} not read ({self.note or 'unknown'}): AWS default {self.value} assumed"


class ServerlessQuotas(Model):
    """The two quotas a move to Serverless Inference must fit, in the snapshot's account and region."""

    endpoints: Quota  # serverless endpoints per region
    concurrency: Quota  # total MaxConcurrency of the serverless endpoints per region

    @classmethod
    def defaults(cls, note: str) -> ServerlessQuotas:
        """Both AWS defaults, assumed because of `note`."""
        return cls(
            endpoints=Quota(
                code=SERVERLESS_ENDPOINTS_QUOTA_CODE,
                value=DEFAULT_SERVERLESS_ENDPOINTS_QUOTA,
                source="default",
                note=note,
            ),
            concurrency=Quota(
                code=SERVERLESS_CONCURRENCY_QUOTA_CODE,
                value=DEFAULT_SERVERLESS_CONCURRENCY_QUOTA,
                source="default",
                note=note,
            ),
        )


class ScanSnapshot(Model):
    account_id: str
    region: str
    scanned_at: datetime
    lookback_days: int
    endpoints: list[ScannedEndpoint] = Field(default_factory=list)
    # False when the scan stopped at its deadline: `unscanned` says what is missing and why.
    complete: bool = True
    unscanned: list[UnscannedEndpoint] = Field(default_factory=list)
    api_calls: dict[str, int] = Field(default_factory=dict)
    # Metric series (MetricStat queries) asked of GetMetricData: what it bills, per metric requested,
    # whatever the time range (additive; 0 from a snapshot written before the incremental history).
    metric_series_requested: int = 0
    # The serverless quotas of the account and region (additive; None from a snapshot written before the
    # scan read them: the rung then assumes the AWS defaults).
    serverless_quotas: ServerlessQuotas | None = None


ACCOUNT_ID_PATTERN = r"^\d{12}$"


class Target(Model):
    """One account and region the workflow scans. `role_arn` is None for the stack's own account (its
    function credentials are used); a member account is read through `role_arn` with `external_id`."""

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN)
    region: str = Field(min_length=1)
    role_arn: str | None = None
    external_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.account_id} {self.region}"


class ScanFailure(Model):
    """A target the scan could not read (AWS refused or failed): reported, and the run ends failed."""

    status: Literal["failed"] = "failed"
    account_id: str
    region: str
    error: str
    message: str = ""
