"""The domain as data: what a scan sees, what the analyzer decides, what an approval and a change record.

Every model is a pydantic v2 model so that the same objects travel through Step Functions (JSON), the
plan file (the published contract) and DynamoDB without hand-written (de)serialisation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

HOURS_PER_MONTH = 730  # AWS pricing pages quote monthly cost at 730 hours.


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


Confidence = Literal["high", "medium", "low"]


class Finding(Model):
    """One decision about one endpoint; the plan file's `findings[]` item (schema_version 1)."""

    endpoint_name: str
    account_id: str
    region: str
    action: Action
    target: str | None = None
    current_monthly_cost_usd: float | None = None
    estimated_monthly_savings_usd: float | None = None
    confidence: Confidence = "high"
    reasons: list[str] = Field(default_factory=list)
    blocked_by: list[str] = Field(default_factory=list)
    evidence: dict[str, float | int | str | None] = Field(default_factory=dict)


class Plan(Model):
    """The published plan contract. Keep field names stable: users and other tools read them."""

    schema_version: Literal[1] = 1
    generated_at: datetime
    region: str
    lookback_days: int
    findings: list[Finding]


class ApprovalGrant(Model):
    """What the approval step hands to apply (the SendTaskSuccess output)."""

    approval_id: str
    approved_by: str


class ProposedAction(Model):
    """An actionable finding on its way through approval and apply (one Map item in the workflow)."""

    action_id: str
    finding: Finding
    mode: Literal["approve", "auto"]
    approval_timeout_seconds: int
    approval: ApprovalGrant | None = None  # set by "Wait for approval" (ResultPath $.approval)


class Analysis(Model):
    """What the Analyze step returns to the workflow."""

    plan: Plan
    actions: list[ProposedAction]
    deferred: list[str] = Field(default_factory=list)  # actionable endpoints left for a later run


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  # set when a click arrives after Step Functions stopped waiting


class Approval(Model):
    approval_id: str
    task_token: str
    action_id: str
    finding: Finding
    state: ApprovalState
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None


class Snapshot(Model):
    """Everything needed to bring a parked endpoint back or to roll a change back."""

    endpoint_name: str
    taken_at: datetime
    config_name: str
    tags: dict[str, str]
    scalable_targets: list[ScalableTarget]
    variants: list[Variant]
    # Deregistering a scalable target deletes its policies and scheduled actions: keep them to replay.
    scaling_policies: list[dict[str, Any]] = Field(default_factory=list)
    scheduled_actions: list[dict[str, Any]] = Field(default_factory=list)


Outcome = Literal["applied", "rejected", "expired", "failed", "skipped", "restored"]


class LedgerEntry(Model):
    endpoint_name: str
    recorded_at: datetime
    action: Action | Literal["restore"]
    outcome: Outcome
    approved_by: str | None = None
    monthly_cost_before_usd: float | None = None
    monthly_cost_after_usd: float | None = None
    detail: str = ""


class ActionResult(Model):
    """What one Map iteration reports to the summary."""

    endpoint_name: str
    action: Action
    outcome: Outcome
    estimated_monthly_savings_usd: float | None = None
    detail: str = ""


# ------------------------------------------------------------------ many accounts and regions (targets)

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


class PlanSummary(Model):
    """What the workflow state carries about one target's plan; the plan itself is in S3 at `plan_key`."""

    account_id: str
    region: str
    plan_key: str
    lookback_days: int
    endpoints: int
    findings_by_action: dict[str, int]
    proposed_monthly_savings_usd: float
    unknown_savings: int  # findings with an action whose savings are unknown (no price)
    report_only: bool = False  # not this stack's account and region: nothing is ever applied there


TOP_FINDINGS = 10  # the largest findings of a run, listed in its report


class FleetAnalysis(Model):
    """What the Analyze step returns to the workflow for every target: small, whatever the fleet size."""

    plans: list[PlanSummary]
    unscanned: list[ScanFailure] = Field(default_factory=list)
    actions: list[ProposedAction]
    deferred: list[str] = Field(default_factory=list)
    top_findings: list[Finding] = Field(default_factory=list)  # the largest savings, for the report

    @computed_field  # type: ignore[prop-decorator]
    @property
    def all_targets_scanned(self) -> bool:
        """False ends the run failed after the report and the summary (the workflow checks it)."""
        return not self.unscanned
