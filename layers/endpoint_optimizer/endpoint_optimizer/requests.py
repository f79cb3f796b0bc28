"""The events each Lambda accepts (parsed with Powertools' parser; a malformed event fails fast)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from endpoint_optimizer.models import ActionResult, Plan, ProposedAction, ScanSnapshot


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScanRequest(_Request):
    execution_id: str | None = None
    started_at: str | None = None


class AnalyzeRequest(_Request):
    execution_id: str = Field(min_length=1)
    snapshot: ScanSnapshot


class ReportRequest(_Request):
    kind: Literal["report"]
    execution_id: str
    plan: Plan
    actions: list[ProposedAction]
    deferred: list[str] = Field(default_factory=list)


class SummaryRequest(_Request):
    kind: Literal["summary"]
    execution_id: str
    plan: Plan
    results: list[ActionResult]
    deferred: list[str] = Field(default_factory=list)


NotifyRequest = Annotated[ReportRequest | SummaryRequest, Field(discriminator="kind")]


class ApprovalRequest(_Request):
    task_token: str = Field(min_length=1, max_length=2048)  # SendTaskSuccess TaskToken max 2048 (botocore)
    action: ProposedAction


class ApplyRequest(_Request):
    execution_id: str | None = None
    action: ProposedAction
