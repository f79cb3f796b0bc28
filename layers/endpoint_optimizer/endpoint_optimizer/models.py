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


class VariantFacts(Model):
    """What one variant ran when it was scanned: apply refuses if this is no longer what runs."""

    name: str
    instance_type: str | None = None
    instance_count: int = 0
    image: str | None = None


class ScanFacts(Model):
    """What the scan saw of one endpoint, typed: the only input apply trusts about the past.

    Approvals can come days after the scan, so apply compares these facts with the endpoint as it is
    now and reads traffic from `metrics_window_end` (where the scan's metrics stopped) until the change.
    """

    scanned_at: datetime
    endpoint_last_modified_at: datetime
    config_name: str
    variants: list[VariantFacts] = Field(default_factory=list)
    inference_components: list[str] = Field(default_factory=list)
    metrics_window_start: datetime
    metrics_window_end: datetime


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
    # None only for endpoints the scan could not read (never acted on).
    scan: ScanFacts | None = None


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
    # How long a rejection keeps the endpoint from being proposed again (RejectionCooldownDays, set by
    # Analyze): carried to the approval so the Slack click that rejects can write the cooldown.
    rejection_cooldown_days: int = Field(default=DEFAULT_REJECTION_COOLDOWN_DAYS, ge=0)


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
    # From the action (RejectionCooldownDays): the cooldown a rejection of this approval starts.
    rejection_cooldown_days: int = Field(default=DEFAULT_REJECTION_COOLDOWN_DAYS, ge=0)


class Snapshot(Model):
    """Everything needed to bring a parked endpoint back or to roll a change back.

    The endpoint config and its models are kept whole (their Describe bodies), because SageMaker lets
    either be deleted while the endpoint is parked; restore recreates them from here.
    """

    endpoint_name: str
    taken_at: datetime
    config_name: str
    tags: dict[str, str]
    scalable_targets: list[ScalableTarget]
    variants: list[Variant]
    # Deregistering a scalable target deletes its policies and scheduled actions: keep them to replay.
    scaling_policies: list[dict[str, Any]] = Field(default_factory=list)
    scheduled_actions: list[dict[str, Any]] = Field(default_factory=list)
    endpoint_config: dict[str, Any] = Field(default_factory=dict)  # DescribeEndpointConfig, whole
    models: list[dict[str, Any]] = Field(default_factory=list)  # DescribeModel of each variant, whole
    # Deployed image as specified -> as resolved (DescribeEndpoint DeployedImages): what actually ran.
    image_digests: dict[str, str] = Field(default_factory=dict)


IntentState = Literal["open", "done", "rolled_back"]


class Intent(Model):
    """Written before the first change of an action and resolved after it: a change that died half-way
    is found by its open intent, and rolled back or finished from the snapshot it names."""

    endpoint_name: str
    action_id: str
    action: Action
    snapshot_taken_at: datetime
    started_at: datetime
    state: IntentState = "open"


Outcome = Literal["applied", "rejected", "expired", "failed", "skipped", "restored", "refused"]


class LedgerEntry(Model):
    endpoint_name: str
    recorded_at: datetime
    action: Action | Literal["restore"]
    outcome: Outcome
    approved_by: str | None = None
    monthly_cost_before_usd: float | None = None
    monthly_cost_after_usd: float | None = None
    detail: str = ""
    # For a park: the snapshot that brings it back (restore uses this one, not the newest).
    snapshot_taken_at: datetime | None = None


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


# ------------------------------------------------------- one open approval per endpoint (locks, rejections)


class ApprovalLock(Model):
    """`LOCK#<account>#<region>#<endpoint>`: the one open approval of an endpoint, taken when its card is
    posted and held through apply; it expires a margin after the approval (DynamoDB TTL is lazy, so
    readers compare `expires_at` with now)."""

    account_id: str
    region: str
    endpoint_name: str
    approval_id: str
    action_id: str
    requested_at: datetime
    expires_at: datetime


class Rejection(Model):
    """`REJECTION#<account>#<region>#<endpoint>`: a person rejected a change; Analyze leaves the endpoint
    alone for RejectionCooldownDays after `rejected_at`."""

    account_id: str
    region: str
    endpoint_name: str
    approval_id: str
    rejected_by: str
    rejected_at: datetime
    expires_at: datetime


def endpoint_key(account_id: str, region: str, endpoint_name: str) -> str:
    """The `<account>#<region>#<endpoint>` part of LOCK# and REJECTION# keys."""
    return f"{account_id}#{region}#{endpoint_name}"


class Holds(Model):
    """The open approvals and the rejections of the endpoints a run could propose, read before choosing
    (decisions stay pure: this is data)."""

    locks: dict[str, ApprovalLock] = Field(default_factory=dict)  # by endpoint_key
    rejections: dict[str, Rejection] = Field(default_factory=dict)  # by endpoint_key

    def lock_for(self, finding: Finding) -> ApprovalLock | None:
        return self.locks.get(endpoint_key(finding.account_id, finding.region, finding.endpoint_name))

    def rejection_for(self, finding: Finding) -> Rejection | None:
        return self.rejections.get(endpoint_key(finding.account_id, finding.region, finding.endpoint_name))


class LeftForLater(Model):
    """Actionable endpoints not proposed this run, cut to a few for the workflow state and the messages;
    the whole lists are in S3 at `whole_list`."""

    # Deferred by MaxActionsPerRun, MaxMonthlyChangeUSD or the state size (FleetAnalysis.deferred: the first)
    deferred_total: int = 0
    waiting: list[str] = Field(default_factory=list)  # "<endpoint>: <why>" (approval pending, rejected)
    waiting_total: int = 0
    whole_list: str | None = None  # s3://<bucket>/plans/<state machine>/<run>/left-for-later.json


class FleetAnalysis(Model):
    """What the Analyze step returns to the workflow for every target: small, whatever the fleet size."""

    plans: list[PlanSummary]
    unscanned: list[ScanFailure] = Field(default_factory=list)
    actions: list[ProposedAction]
    deferred: list[str] = Field(default_factory=list)
    top_findings: list[Finding] = Field(default_factory=list)  # the largest savings, for the report
    later: LeftForLater = Field(default_factory=LeftForLater)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def all_targets_scanned(self) -> bool:
        """False ends the run failed after the report and the summary (the workflow checks it)."""
        return not self.unscanned
