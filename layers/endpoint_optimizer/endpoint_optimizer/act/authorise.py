"""Whether this stack may carry out an action: its account and region, its mode, the approval record."""

from __future__ import annotations

from typing import Literal

from endpoint_optimizer.act.endpoint_state import ActionRefused
from endpoint_optimizer.infra.stores import ApprovalNotFound, StateStore
from endpoint_optimizer.models import ApprovalState, ProposedAction

Mode = Literal["report", "approve", "auto"]


def authorise(
    table: StateStore, action: ProposedAction, *, mode: Mode, auto_applies: bool, home: tuple[str, str] | None
) -> None:
    """This stack's to carry out, and approved. `mode` is the stack's (its settings), never the event's:
    an event cannot skip the approval. `auto_applies`: the action is reversible in one step and low risk
    (registry.applies_without_approval), so `auto` mode may apply it without an approval."""
    finding = action.finding
    if home is not None and (finding.account_id, finding.region) != home:
        raise ActionRefused(
            f"{finding.endpoint_name} is in {finding.account_id}/{finding.region}; this stack acts only in "
            f"{home[0]}/{home[1]}"
        )
    if mode == "report":
        raise ActionRefused(
            f"{finding.endpoint_name}: this stack is deployed in report mode; nothing is applied"
        )
    if mode == "auto" and action.approval is None:
        if not auto_applies:
            raise ActionRefused(
                f"{finding.endpoint_name}: {finding.action.value} is not reversible in one step; it always "
                "asks for an approval, auto mode or not"
            )
        return
    # Never act on the workflow's word alone: the approval record must say approved.
    if action.approval is None:
        raise ActionRefused(f"{finding.endpoint_name}: no approval came with this action")
    try:
        approval = table.get_approval(action.approval.approval_id)
    except ApprovalNotFound:
        raise ActionRefused(
            f"{finding.endpoint_name}: approval {action.approval.approval_id} does not exist"
        ) from None
    if approval.state != ApprovalState.APPROVED or approval.action_id != action.action_id:
        raise ActionRefused(
            f"{finding.endpoint_name}: approval {approval.approval_id} is {approval.state.value}, "
            "not an approval of this action"
        )
