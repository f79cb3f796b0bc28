"""The events each Lambda accepts (parsed with Powertools' parser; a malformed event fails fast)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from endpoint_optimizer.infra.artifacts import INLINE_BUDGET_BYTES, SnapshotRef
from endpoint_optimizer.models import (
    ActionResult,
    Finding,
    LeftForLater,
    PlanSummary,
    ProposedAction,
    ScanFailure,
    Target,
)


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


class ApplyRequest(_Request):
    execution_id: str | None = None
    action: ProposedAction


class RecoverRequest(_Request):
    """The Catch of "Apply action": finish or undo what the failed attempt changed."""

    execution_id: str | None = None
    recover: Literal[True]
    action: ProposedAction
    error: dict[str, str | None] = Field(default_factory=dict)  # States' {"Error": ..., "Cause": ...}

    @model_validator(mode="before")
    @classmethod
    def _error_beside_the_action(cls, data: Any) -> Any:
        """The Catch's ResultPath ($.error) puts the error inside the action's state: move it out."""
        if isinstance(data, dict) and isinstance(data.get("action"), dict) and "error" in data["action"]:
            action = dict(data["action"])
            return {**data, "action": action, "error": action.pop("error") or {}}
        return data


ApplyOrRecover = ApplyRequest | RecoverRequest
