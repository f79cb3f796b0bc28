"""The approvals still open (`approvals list`), and a rejection's reason on the approval record: the same
on DynamoDB (moto) and on the in-memory twin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from endpoint_optimizer.infra.stores import InMemoryStateTable, StateStore, StateTable
from endpoint_optimizer.models import ApprovalState
from tests.unit.infra.test_stores_contract import NOW, approval


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "dynamodb":
        return StateTable(request.getfixturevalue("dynamodb"), "state")
    return InMemoryStateTable()


def test_open_approvals_are_the_pending_unexpired_ones_oldest_first(store: StateStore) -> None:
    """GIVEN a pending approval, one already approved, one rejected and one whose time ran out
    WHEN the open approvals are read
    THEN only the pending one that can still be decided is listed."""
    for approval_id in ("open", "approved", "rejected"):
        store.put_approval(approval(approval_id))
    store.put_approval(approval("timed-out", expires_at=NOW - timedelta(minutes=1)))
    store.decide_approval("approved", ApprovalState.APPROVED, user_id="U1", now=NOW)
    store.decide_approval("rejected", ApprovalState.REJECTED, user_id="U1", now=NOW)

    assert [a.approval_id for a in store.open_approvals(NOW)] == ["open"]
    assert store.open_approvals(NOW + timedelta(hours=2)) == []


def test_a_rejection_keeps_its_reason_and_who_decided_when(store: StateStore) -> None:
    store.put_approval(approval("abc123"))

    store.decide_approval(
        "abc123", ApprovalState.REJECTED, user_id="arn:aws:iam::1:user/ana", now=NOW, reason="busy"
    )

    stored = store.get_approval("abc123")
    assert (stored.state, stored.decided_by, stored.decided_at) == (
        ApprovalState.REJECTED,
        "arn:aws:iam::1:user/ana",
        NOW,
    )
    assert stored.rejection_reason == "busy"


def test_a_reopened_approval_decided_again_does_not_show_an_earlier_reason(store: StateStore) -> None:
    """GIVEN a rejection with a reason that Step Functions never heard of (reopened)
    WHEN it is rejected again without a reason
    THEN no reason is shown: the earlier attempt's is not carried over."""
    store.put_approval(approval("abc123"))
    store.decide_approval("abc123", ApprovalState.REJECTED, user_id="U1", now=NOW, reason="first try")
    store.reopen("abc123", decided_by="U1")
    assert store.get_approval("abc123").rejection_reason is None

    store.decide_approval("abc123", ApprovalState.REJECTED, user_id="U1", now=NOW)

    assert store.get_approval("abc123").rejection_reason is None
