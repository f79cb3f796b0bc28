"""The events each Lambda accepts (parsed with Powertools' parser; a malformed event fails fast)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from endpoint_optimizer.infra.artifacts import INLINE_BUDGET_BYTES, SnapshotRef
from endpoint_optimizer.models import (
    ActionResult,
    Baseline,
    Confirmation,
    ConfirmedMove,
    Finding,
    FleetAnalysis,
    LeftForLater,
    MoveToConfirm,
    PlanSummary,
    ProposedAction,
    ScanFailure,
    Target,
)
from endpoint_optimizer.models.change import ApplyState, NightState, UndoState


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TargetsRequest(_Request):
    execution_id: str | None = None


class ScanRequest(_Request):
    """One item of the Scan targets map."""

    execution_id: str = Field(min_length=1)
    target: Target
    inline_limit_bytes: int = Field(default=INLINE_BUDGET_BYTES, ge=0, le=INLINE_BUDGET_BYTES)


# What one scan returns: the snapshot (or its S3 key), or why the target could not be read.
ScanResult = Annotated[SnapshotRef | ScanFailure, Field(discriminator="status")]


class AnalyzeRequest(_Request):
    execution_id: str = Field(min_length=1)
    scans: list[ScanResult] = Field(min_length=1)


class ReportRequest(_Request):
    kind: Literal["report"]
    execution_id: str
    plans: list[PlanSummary]
    unscanned: list[ScanFailure] = Field(default_factory=list)
    actions: list[ProposedAction]
    deferred: list[str] = Field(default_factory=list)
    top_findings: list[Finding] = Field(default_factory=list)
    later: LeftForLater = Field(default_factory=LeftForLater)


class SummaryRequest(_Request):
    kind: Literal["summary"]
    execution_id: str
    plans: list[PlanSummary]
    unscanned: list[ScanFailure] = Field(default_factory=list)
    results: list[ActionResult]
    deferred: list[str] = Field(default_factory=list)
    later: LeftForLater = Field(default_factory=LeftForLater)


NotifyRequest = Annotated[ReportRequest | SummaryRequest, Field(discriminator="kind")]


class ApprovalRequest(_Request):
    task_token: str = Field(min_length=1, max_length=2048)  # SendTaskSuccess TaskToken max 2048 (botocore)
    action: ProposedAction


class CardOutcomeRequest(_Request):
    """The optimize workflow's "Update the card with the outcome": the approval whose card to update, and the
    apply workflow's result (act/card_outcome.py)."""

    approval_id: str = Field(min_length=1, max_length=64)
    result: ActionResult


ApplyStepName = Literal[
    "start", "act", "progress", "verify", "roll_back", "rollback_progress", "record_rollback"
]
UndoStepName = Literal["undo_start", "undo_roll_back", "undo_progress", "undo_record"]


class ApplyStepRequest(_Request):
    """One step of the apply workflow (statemachines/apply.asl.json): which step, and the workflow's state."""

    step: ApplyStepName
    state: ApplyState


class UndoStepRequest(_Request):
    """One step of the apply workflow's undo path (an execution named `undo-<action_id>`)."""

    step: UndoStepName
    state: UndoState


class NightStepRequest(_Request):
    """The apply workflow's night path (an execution a night-parking schedule started): park or restore."""

    step: Literal["night"]
    state: NightState


# ----------------------------------------------------------- confirming moves (functions/recommend)


class RecommenderJob(_Request):
    """One move's confirmation between the steps of "Confirm moves": what "Check recommender job" reads
    (`finished`, `deadline_passed`) and "Wait for recommender job" waits (`wait_seconds`)."""

    item: MoveToConfirm
    baseline: Baseline
    job_name: str | None = None
    status: str  # the job's Status, or NOT_STARTED
    reused: bool = False
    deadline: datetime | None = None  # past it, the job is stopped
    wait_seconds: int = Field(default=0, ge=0)
    finished: bool = False
    deadline_passed: bool = False
    # Set by "stop": the polls left for the stopped job to reach STOPPED before "finish" takes what there is.
    stop_polls_left: int | None = Field(default=None, ge=0)
    # Set when no job could start (no payload, unknown image, spend cap, quota): the verdict is known.
    confirmation: Confirmation | None = None


class StartRecommenderJob(_Request):
    step: Literal["start"]
    execution_id: str = Field(min_length=1)
    item: MoveToConfirm


class FollowRecommenderJob(_Request):
    step: Literal["poll", "stop", "finish"]
    job: RecommenderJob


class FoldConfirmations(_Request):
    """ "Record confirmations": the run's state after "Confirm moves" (Analyze's output and each move's
    confirmation) in, the same state with the confirmations folded into the plans out."""

    step: Literal["merge"]
    execution_id: str = Field(min_length=1)
    analysis: FleetAnalysis
    confirmations: list[ConfirmedMove] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _confirmations_beside_the_analysis(cls, data: Any) -> Any:
        """The map's ResultPath ($.confirmations) puts them in the run's state, beside Analyze's output, its
        computed `all_targets_scanned` and the `recommender_jobs_at_once` of the map: take them apart."""
        if isinstance(data, dict) and isinstance(data.get("analysis"), dict):
            analysis = dict(data["analysis"])
            confirmations = analysis.pop("confirmations", [])
            for derived in ("all_targets_scanned", "recommender_jobs_at_once"):
                analysis.pop(derived, None)
            return {**data, "analysis": analysis, "confirmations": confirmations}
        return data


RecommendRequest = Annotated[
    StartRecommenderJob | FollowRecommenderJob | FoldConfirmations, Field(discriminator="step")
]
