"""What the analyzer decides: findings, plans, the actions chosen and the run's summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, computed_field

from endpoint_optimizer.models.confirmation import Confirmation
from endpoint_optimizer.models.scan import DEFAULT_REJECTION_COOLDOWN_DAYS, Action, Model, ScanFailure

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
    # The evidence at a glance on the approval card (optional, additive in schema_version 1): invocations
    # per hour from `metrics_window_start`, summed over the variants (a missing datapoint counts 0), and
    # the highest daily average ModelLatency of a variant, in microseconds as CloudWatch publishes it.
    hourly_invocations: list[int] | None = None
    model_latency_avg_us: float | None = None


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
    # An Inference Recommender benchmark of a rightsize, Graviton or serverless move (optional, additive).
    confirmation: Confirmation | None = None


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


class LeftForLater(Model):
    """Actionable endpoints not proposed this run, cut to a few for the workflow state and the messages;
    the whole lists are in S3 at `whole_list`."""

    # Deferred by MaxActionsPerRun, MaxMonthlyChangeUSD or the state size (FleetAnalysis.deferred: the first)
    deferred_total: int = 0
    waiting: list[str] = Field(default_factory=list)  # "<endpoint>: <why>" (approval pending, rejected)
    waiting_total: int = 0
    whole_list: str | None = None  # s3://<bucket>/plans/<state machine>/<run>/left-for-later.json


class MoveToConfirm(Model):
    """A rightsize, Graviton or serverless move to benchmark with an Inference Recommender job this run:
    one item of the workflow's "Confirm moves" map (Analyze chooses them within MaxRecommenderSpendUSD)."""

    finding: Finding
    plan_key: str  # the plan (S3) the confirmation is folded into
    estimated_job_cost_usd: float | None = None
    # Why no job runs for it this run (the spend cap): the finding stays unconfirmed and says so.
    deferred: str | None = None
    # The run's prices of the baseline and the candidates (USD per instance-hour by type; serverless per
    # GB-second): the confirmation cross-checks the job's CostPerHour with the prices the plan used.
    hourly_usd: dict[str, float] = Field(default_factory=dict)
    serverless_usd_per_gb_second: float | None = None
    # The action Analyze chose for this move this run (None: not chosen, e.g. MaxActionsPerRun), held out of
    # the run's actions until its benchmark confirms it: only then is anyone asked (analysis.fold_confirmations).
    # Its finding travels without scan facts; the fold takes the confirmed finding from the plan.
    proposal: ProposedAction | None = None


class ConfirmedMove(Model):
    """What one "Confirm moves" item returns: the finding as the benchmark left it (confirmed, downgraded
    or unconfirmed with the reason; without its scan facts, which stay in the plan), or the error of a
    step that failed (the finding is then Analyze's, unchanged)."""

    plan_key: str
    finding: Finding
    error: dict[str, str | None] | None = None  # States' {"Error": ..., "Cause": ...}


class FleetAnalysis(Model):
    """What the Analyze step returns to the workflow for every target: small, whatever the fleet size."""

    plans: list[PlanSummary]
    unscanned: list[ScanFailure] = Field(default_factory=list)
    actions: list[ProposedAction]
    deferred: list[str] = Field(default_factory=list)
    top_findings: list[Finding] = Field(default_factory=list)  # the largest savings, for the report
    later: LeftForLater = Field(default_factory=LeftForLater)
    # The moves benchmarked this run (the "Confirm moves" map), folded back into the plans after it.
    to_confirm: list[MoveToConfirm] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def all_targets_scanned(self) -> bool:
        """False ends the run failed after the report and the summary (the workflow checks it)."""
        return not self.unscanned
