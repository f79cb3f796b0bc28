"""What an approval and a change record: approvals, locks, rejections, the way back, intents, the ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from endpoint_optimizer.models.findings import Finding
from endpoint_optimizer.models.scan import (
    DEFAULT_REJECTION_COOLDOWN_DAYS,
    Action,
    Model,
    ScalableTarget,
    Variant,
)


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
    rejection_reason: str | None = None  # what the person who rejected it said (optional)
    # The approving click's response_url: the card is updated through it with the apply outcome (Slack
    # accepts it 5 times within 30 minutes of the click; act/card_outcome.py).
    card_url: str | None = None
    # From the action (RejectionCooldownDays): the cooldown a rejection of this approval starts.
    rejection_cooldown_days: int = Field(default=DEFAULT_REJECTION_COOLDOWN_DAYS, ge=0)


class WayBack(Model):
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
    # The change's plan (Change.target) and when its wait ends: a Catch that has lost the workflow's
    # state rolls the change back from here (absent for park, whose way back is the whole plan).
    target: dict[str, Any] = Field(default_factory=dict)
    deadline: datetime | None = None


# rolled_back: the change was made and then taken back (a failed verify, an alarm, SageMaker's own
# auto-rollback): serving as before, never counted as savings. undone: an applied change reverted by
# `endpoint-optimizer undo`; its savings end there.
Outcome = Literal[
    "applied", "rejected", "expired", "failed", "skipped", "restored", "refused", "rolled_back", "undone"
]


class LedgerEntry(Model):
    endpoint_name: str
    recorded_at: datetime
    action: Action | Literal["restore"]
    outcome: Outcome
    approved_by: str | None = None
    monthly_cost_before_usd: float | None = None
    monthly_cost_after_usd: float | None = None
    detail: str = ""
    # For a park: the snapshot that brings it back (restore uses this one, not the newest); for every
    # other change, the way back `endpoint-optimizer undo` returns to.
    snapshot_taken_at: datetime | None = None
    action_id: str | None = (
        None  # the approved action this entry records (`endpoint-optimizer undo ACTION_ID`)
    )
    target: dict[str, Any] = Field(default_factory=dict)  # the change's plan (Change.target), for undo


class ActionResult(Model):
    """What one Map iteration reports to the summary."""

    endpoint_name: str
    action: Action
    outcome: Outcome
    estimated_monthly_savings_usd: float | None = None
    detail: str = ""
    # The applied change's id (ledger, `endpoint-optimizer undo`, the summary's Undo button).
    action_id: str | None = None


# ------------------------------------------------------------------ many accounts and regions (targets)


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
    reason: str | None = None  # what the person who rejected it said (optional)


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
