"""The state table's stores, as a contract: every assertion here runs against the DynamoDB stores (on
moto) and against their in-memory twins, so the twin the fast tests use cannot drift from the real one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from endpoint_optimizer.infra.stores import (
    ApprovalAlreadyDecided,
    ApprovalAlreadyExists,
    ApprovalExpired,
    ApprovalNotFound,
    ApprovalNotReopened,
    InMemoryStateTable,
    LockHeld,
    StateStore,
    StateTable,
    WayBackNotFound,
)
from endpoint_optimizer.infra.stores.scan_cache import (
    CachedEndpoint,
    ConfigInfo,
    DynamoDBScanState,
    InMemoryScanState,
    LocalScanState,
    ScanMemory,
    ScanStateStore,
)
from endpoint_optimizer.models import (
    Action,
    Approval,
    ApprovalLock,
    ApprovalState,
    Endpoint,
    Finding,
    Intent,
    LedgerEntry,
    ProposedAction,
    Rejection,
    Variant,
    WayBack,
)
from tests.conftest import load_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ENDPOINT = "idle-fraud-xgb"


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "dynamodb":
        return StateTable(request.getfixturevalue("dynamodb"), "state")
    return InMemoryStateTable()


def finding(endpoint_name: str = ENDPOINT) -> Finding:
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    return action.finding.model_copy(update={"endpoint_name": endpoint_name})


def approval(approval_id: str = "abc123", *, expires_at: datetime = NOW + timedelta(hours=1)) -> Approval:
    return Approval(
        approval_id=approval_id,
        task_token="token-1",
        action_id="action-1",
        finding=finding(),
        state=ApprovalState.PENDING,
        requested_at=NOW,
        expires_at=expires_at,
    )


def lock(
    approval_id: str, action_id: str, *, expires_at: datetime = NOW + timedelta(hours=2)
) -> ApprovalLock:
    where = finding()
    return ApprovalLock(
        account_id=where.account_id,
        region=where.region,
        endpoint_name=where.endpoint_name,
        approval_id=approval_id,
        action_id=action_id,
        requested_at=NOW,
        expires_at=expires_at,
    )


def rejection(approval_id: str, at: datetime, endpoint_name: str = ENDPOINT) -> Rejection:
    where = finding(endpoint_name)
    return Rejection(
        account_id=where.account_id,
        region=where.region,
        endpoint_name=endpoint_name,
        approval_id=approval_id,
        rejected_by="U1",
        rejected_at=at,
        expires_at=at + timedelta(days=7),
    )


def way_back(taken_at: datetime, config_name: str = "config-1") -> WayBack:
    return WayBack(
        endpoint_name=ENDPOINT,
        taken_at=taken_at,
        config_name=config_name,
        tags={"team": "fraud"},
        scalable_targets=[],
        variants=[Variant(name="AllTraffic", instance_count=1)],
    )


def intent(action_id: str, started_at: datetime) -> Intent:
    return Intent(
        endpoint_name=ENDPOINT,
        action_id=action_id,
        action=Action.PARK,
        snapshot_taken_at=started_at,
        started_at=started_at,
    )


def entry(recorded_at: datetime, detail: str, endpoint_name: str = ENDPOINT) -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=endpoint_name,
        recorded_at=recorded_at,
        action=Action.PARK,
        outcome="applied",
        detail=detail,
    )


# ---- approvals -------------------------------------------------------------------------------------
def test_a_stored_approval_reads_back_as_written(store: StateStore) -> None:
    """GIVEN an approval WHEN it is stored and read back THEN it is the same approval, pending."""
    store.put_approval(approval())
    assert store.get_approval("abc123") == approval()


def test_an_approval_id_is_written_once(store: StateStore) -> None:
    """GIVEN a stored approval WHEN another is written with its id THEN it is refused, the first kept."""
    store.put_approval(approval())
    with pytest.raises(ApprovalAlreadyExists):
        store.put_approval(approval().model_copy(update={"task_token": "token-2"}))
    assert store.get_approval("abc123").task_token == "token-1"


def test_an_unknown_approval_is_not_found_and_cannot_be_decided(store: StateStore) -> None:
    with pytest.raises(ApprovalNotFound):
        store.get_approval("nope")
    with pytest.raises(ApprovalNotFound):
        store.decide_approval("nope", ApprovalState.APPROVED, user_id="U1", now=NOW)


def test_a_pending_approval_is_decided_once(store: StateStore) -> None:
    """GIVEN a pending approval WHEN it is approved, then decided again THEN the first decision stands."""
    store.put_approval(approval())
    decided = store.decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW)
    assert (decided.state, decided.decided_by, decided.decided_at) == (ApprovalState.APPROVED, "U1", NOW)
    with pytest.raises(ApprovalAlreadyDecided, match="already approved"):
        store.decide_approval("abc123", ApprovalState.REJECTED, user_id="U2", now=NOW)
    stored = store.get_approval("abc123")
    assert (stored.state, stored.decided_by) == (ApprovalState.APPROVED, "U1")


@pytest.mark.parametrize(
    ("after_request", "decidable"),
    [
        (timedelta(hours=1) - timedelta(seconds=1), True),
        (timedelta(hours=1), False),
        (timedelta(days=1), False),
    ],
    ids=["last second", "at expiry", "a day late"],
)
def test_an_approval_can_be_decided_until_the_second_it_expires(
    store: StateStore, after_request: timedelta, decidable: bool
) -> None:
    """GIVEN an approval expiring an hour after NOW WHEN it is approved at NOW + `after_request`
    THEN it is decided up to the last whole second before, and refused as expired from then on."""
    store.put_approval(approval())
    if decidable:
        store.decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW + after_request)
        assert store.get_approval("abc123").state == ApprovalState.APPROVED
    else:
        with pytest.raises(ApprovalExpired):
            store.decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW + after_request)
        assert store.get_approval("abc123").state == ApprovalState.PENDING


def test_an_approval_marked_expired_cannot_be_decided(store: StateStore) -> None:
    store.put_approval(approval())
    store.mark_expired("abc123")
    assert store.get_approval("abc123").state == ApprovalState.EXPIRED
    with pytest.raises(ApprovalExpired):
        store.decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW)


def test_only_the_decider_can_reopen_a_decision(store: StateStore) -> None:
    """GIVEN an approval U1 approved WHEN U2, then U1 reopen it THEN U2 is refused, U1 gets it pending
    again (decider cleared) and it can be decided anew; a pending one cannot be reopened."""
    store.put_approval(approval())
    store.decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW)
    with pytest.raises(ApprovalNotReopened):
        store.reopen("abc123", decided_by="U2")
    assert store.get_approval("abc123").state == ApprovalState.APPROVED
    store.reopen("abc123", decided_by="U1")
    reopened = store.get_approval("abc123")
    assert (reopened.state, reopened.decided_by) == (ApprovalState.PENDING, None)
    with pytest.raises(ApprovalNotReopened):
        store.reopen("abc123", decided_by="U1")
    store.decide_approval("abc123", ApprovalState.REJECTED, user_id="U2", now=NOW)
    assert store.get_approval("abc123").state == ApprovalState.REJECTED


# ---- locks and rejections --------------------------------------------------------------------------
def test_the_first_approval_takes_the_endpoints_lock_and_a_second_is_told_who_holds_it(
    store: StateStore,
) -> None:
    store.take_lock(lock("a1", "x1"), now=NOW)
    with pytest.raises(LockHeld) as held:
        store.take_lock(lock("a2", "x2"), now=NOW + timedelta(minutes=5))
    assert held.value.holder == lock("a1", "x1")
    assert store.holds_for([finding()]).lock_for(finding()) == lock("a1", "x1")


def test_a_retry_of_the_same_action_takes_over_its_own_lock(store: StateStore) -> None:
    store.take_lock(lock("a1", "x1"), now=NOW)
    store.take_lock(lock("a1-retry", "x1"), now=NOW)
    assert store.holds_for([finding()]).lock_for(finding()) == lock("a1-retry", "x1")


@pytest.mark.parametrize(("after_expiry", "free"), [(timedelta(seconds=-1), False), (timedelta(0), True)])
def test_a_lock_is_free_from_the_second_it_expires(
    store: StateStore, after_expiry: timedelta, free: bool
) -> None:
    expires_at = NOW + timedelta(hours=2)
    store.take_lock(lock("a1", "x1", expires_at=expires_at), now=NOW)
    if free:
        store.take_lock(lock("a2", "x2"), now=expires_at + after_expiry)
    else:
        with pytest.raises(LockHeld):
            store.take_lock(lock("a2", "x2"), now=expires_at + after_expiry)
    holder = store.holds_for([finding()]).lock_for(finding())
    assert holder is not None
    assert holder.approval_id == ("a2" if free else "a1")


def test_only_the_holding_approval_releases_a_lock(store: StateStore) -> None:
    where = finding()
    assert not store.release_lock(where.account_id, where.region, ENDPOINT, approval_id="a1")  # none yet
    store.take_lock(lock("a1", "x1"), now=NOW)
    assert not store.release_lock(where.account_id, where.region, ENDPOINT, approval_id="other")
    assert store.holds_for([where]).lock_for(where) is not None
    assert store.release_lock(where.account_id, where.region, ENDPOINT, approval_id="a1")
    assert store.holds_for([where]).lock_for(where) is None


def test_holds_are_the_newest_rejection_and_the_lock_of_the_asked_endpoints_only(store: StateStore) -> None:
    """GIVEN two rejections of one endpoint (the second later), one of another, and an expired lock
    WHEN the holds of the first endpoint are read THEN they are its newest rejection and its lock
    (expired ones included: the decision compares times), nothing of the other endpoint."""
    store.put_rejection(rejection("a1", NOW))
    store.put_rejection(rejection("a2", NOW + timedelta(days=1)))
    store.put_rejection(rejection("a3", NOW, endpoint_name="other-endpoint"))
    store.take_lock(lock("a4", "x4", expires_at=NOW - timedelta(hours=1)), now=NOW)
    holds = store.holds_for([finding()])
    assert holds.rejection_for(finding()) == rejection("a2", NOW + timedelta(days=1))
    assert holds.lock_for(finding()) == lock("a4", "x4", expires_at=NOW - timedelta(hours=1))
    assert len(holds.rejections) == 1
    assert store.holds_for([]).locks == {}


def test_the_last_rejection_of_an_endpoint_is_its_newest_with_its_reason(store: StateStore) -> None:
    """GIVEN two rejections of an endpoint, the later with a reason WHEN its next card asks for the last one
    THEN it is the later, reason included; an endpoint never rejected has none."""
    where = finding()
    assert store.last_rejection(where.account_id, where.region, ENDPOINT) is None
    store.put_rejection(rejection("a1", NOW))
    later = rejection("a2", NOW + timedelta(days=1)).model_copy(update={"reason": "quarter close"})
    store.put_rejection(later)
    assert store.last_rejection(where.account_id, where.region, ENDPOINT) == later
    assert store.last_rejection(where.account_id, where.region, "other-endpoint") is None


# ---- snapshots, intents, ledger ------------------------------------------------------------------------
def test_snapshots_are_found_by_time_and_the_latest_is_the_newest(store: StateStore) -> None:
    assert store.latest_way_back(ENDPOINT) is None
    store.put_way_back(way_back(NOW + timedelta(days=2), "config-new"))
    store.put_way_back(way_back(NOW, "config-old"))
    assert store.way_back(ENDPOINT, NOW) == way_back(NOW, "config-old")
    assert store.way_back(ENDPOINT, NOW + timedelta(days=1)) is None
    assert store.latest_way_back(ENDPOINT) == way_back(NOW + timedelta(days=2), "config-new")


def test_a_retired_snapshot_stays_readable_and_a_missing_one_cannot_be_retired(store: StateStore) -> None:
    store.put_way_back(way_back(NOW))
    store.retire_way_back(way_back(NOW), now=NOW + timedelta(days=3))
    assert store.way_back(ENDPOINT, NOW) == way_back(NOW)
    with pytest.raises(WayBackNotFound):
        store.retire_way_back(way_back(NOW + timedelta(hours=1)), now=NOW)


def test_intents_come_oldest_first_and_resolving_one_changes_only_its_state(store: StateStore) -> None:
    """GIVEN two intents whose action ids sort against their start times WHEN listed and one resolved
    THEN they come by start time, and the resolved one reads back with its new state."""
    store.put_intent(intent("b-first", NOW))
    store.put_intent(intent("a-second", NOW + timedelta(hours=1)))
    assert [i.action_id for i in store.intents(ENDPOINT)] == ["b-first", "a-second"]
    store.resolve_intent(intent("b-first", NOW), "done", now=NOW + timedelta(hours=2))
    assert store.intent(ENDPOINT, "b-first") == intent("b-first", NOW).model_copy(update={"state": "done"})
    assert store.intent(ENDPOINT, "a-second") == intent("a-second", NOW + timedelta(hours=1))
    assert store.intent(ENDPOINT, "missing") is None
    assert store.intents("other-endpoint") == []


def test_the_ledger_lists_an_endpoints_entries_oldest_first(store: StateStore) -> None:
    store.put_ledger_entry(entry(NOW + timedelta(days=1), "second"))
    store.put_ledger_entry(entry(NOW, "first"))
    store.put_ledger_entry(entry(NOW, "elsewhere", endpoint_name="other-endpoint"))
    assert [e.detail for e in store.ledger(ENDPOINT)] == ["first", "second"]
    store.put_ledger_entry(entry(NOW, "first, again"))  # one entry per endpoint and instant
    assert [e.detail for e in store.ledger(ENDPOINT)] == ["first, again", "second"]
    assert store.ledger("never-touched") == []


# ---- the scan's memory ---------------------------------------------------------------------------------
ScanStores = Callable[[], ScanStateStore]  # each call: a store over the same storage (a later run)


@pytest.fixture(params=["dynamodb", "in-memory", "local file"])
def scan_stores(request: pytest.FixtureRequest, tmp_path: Path) -> ScanStores:
    if request.param == "dynamodb":
        client: Any = request.getfixturevalue("dynamodb")
        return lambda: DynamoDBScanState(client, "state", "123456789012", "us-east-1")
    if request.param == "local file":
        return lambda: LocalScanState(tmp_path / "scan-state.json")
    shared = InMemoryScanState()
    return lambda: shared


def memory(*names: str) -> ScanMemory:
    endpoints = {
        name: CachedEndpoint(
            last_modified_at=NOW,
            endpoint=Endpoint(
                name=name,
                arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
                account_id="123456789012",
                region="us-east-1",
                status="InService",
                created_at=NOW,
                last_modified_at=NOW,
                config_name=f"{name}-config",
            ),
        )
        for name in names
    }
    configs = {f"{name}-config": ConfigInfo(name=f"{name}-config", variants={}) for name in names}
    return ScanMemory(endpoints=endpoints, configs=configs)


def test_the_scans_memory_is_what_the_last_run_saved(scan_stores: ScanStores) -> None:
    """GIVEN nothing saved, then a run that saved three endpoints, then one that saved two of them
    WHEN a later run loads THEN it finds nothing first, and at the end exactly the last run's two."""
    assert scan_stores().load() == ScanMemory()
    first = scan_stores()
    first.load()
    first.save(memory("a", "b", "c"))
    second = scan_stores()
    assert second.load() == memory("a", "b", "c")
    second.save(memory("a", "c"))
    assert scan_stores().load() == memory("a", "c")
