"""The DynamoDB approval and hold stores, at the wire: the exact request each sends (botocore Stubber:
any other call, or other parameters, fails the test) and what each DynamoDB error becomes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_optimizer.infra.stores import (
    ApprovalAlreadyDecided,
    ApprovalAlreadyExists,
    ApprovalExpired,
    ApprovalNotReopened,
    DynamoDBApprovals,
    DynamoDBHolds,
    LockHeld,
)
from endpoint_optimizer.infra.stores.holds import BATCH_GET_ATTEMPTS
from endpoint_optimizer.models import (
    Approval,
    ApprovalLock,
    ApprovalState,
    Finding,
    ProposedAction,
    Rejection,
)
from tests.conftest import load_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EPOCH_NOW = str(int(NOW.timestamp()))  # whole seconds: what the condition expressions compare
TABLE = "state"
LOCK_KEY = {"pk": {"S": "LOCK#123456789012#us-east-1#idle-fraud-xgb"}, "sk": {"S": "LOCK"}}
APPROVAL_KEY = {"pk": {"S": "APPROVAL#abc123"}, "sk": {"S": "APPROVAL"}}
CONDITION_FAILED = "ConditionalCheckFailedException"


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def holds(stub: Stubber) -> DynamoDBHolds:
    return DynamoDBHolds(stub.client, TABLE)  # type: ignore[arg-type]


def approvals(stub: Stubber) -> DynamoDBApprovals:
    return DynamoDBApprovals(stub.client, TABLE)  # type: ignore[arg-type]


def finding(endpoint_name: str = "idle-fraud-xgb") -> Finding:
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    return action.finding.model_copy(update={"endpoint_name": endpoint_name})


def lock(approval_id: str = "a1", action_id: str = "x1") -> ApprovalLock:
    return ApprovalLock(
        account_id="123456789012",
        region="us-east-1",
        endpoint_name="idle-fraud-xgb",
        approval_id=approval_id,
        action_id=action_id,
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=2),
    )


def approval(state: ApprovalState = ApprovalState.PENDING) -> Approval:
    return Approval(
        approval_id="abc123",
        task_token="token-1",
        action_id="action-1",
        finding=finding(),
        state=state,
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )


def approval_item(state: ApprovalState, decided_by: str | None = None) -> dict[str, Any]:
    """The approval's item as DynamoDB returns it (the body as written, the state beside it)."""
    item: dict[str, Any] = {
        **APPROVAL_KEY,
        "state": {"S": state.value},
        "body": {"S": approval().model_dump_json()},
    }
    return item | ({"decided_by": {"S": decided_by}} if decided_by else {})


# ---- locks ---------------------------------------------------------------------------------------------
def test_taking_a_lock_is_one_conditional_put_that_returns_the_holder_on_failure(stub: Stubber) -> None:
    """GIVEN a free endpoint WHEN its lock is taken THEN one PutItem of LOCK#<account>#<region>#<endpoint>,
    free only when absent, expired or of the same action, asking for the holder should it fail."""
    expires = str(int((NOW + timedelta(hours=2)).timestamp()))
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **LOCK_KEY,
                "approval_id": {"S": "a1"},
                "action_id": {"S": "x1"},
                "expires_at": {"N": expires},
                "expiration": {"N": expires},
                "body": {"S": lock().model_dump_json()},
            },
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now OR action_id = :action",
            "ExpressionAttributeValues": {":now": {"N": EPOCH_NOW}, ":action": {"S": "x1"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )
    holds(stub).take_lock(lock(), now=NOW)


@pytest.mark.parametrize("returned_holder", [True, False], ids=["holder returned", "no holder returned"])
def test_a_failed_lock_condition_is_lock_held_naming_the_holder_dynamodb_returned(
    stub: Stubber, returned_holder: bool
) -> None:
    """GIVEN another approval's lock WHEN the lock is taken THEN LockHeld, with that approval when
    DynamoDB returned its item (ALL_OLD)."""
    held = {**LOCK_KEY, "body": {"S": lock("other", "x9").model_dump_json()}}
    stub.add_client_error(
        "put_item",
        service_error_code=CONDITION_FAILED,
        http_status_code=400,
        modeled_fields={"Item": held} if returned_holder else None,
    )
    with pytest.raises(LockHeld) as refused:
        holds(stub).take_lock(lock(), now=NOW)
    assert refused.value.holder == (lock("other", "x9") if returned_holder else None)


def test_any_other_error_taking_a_lock_is_not_mistaken_for_a_held_lock(stub: Stubber) -> None:
    stub.add_client_error("put_item", service_error_code="ProvisionedThroughputExceededException")
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        holds(stub).take_lock(lock(), now=NOW)


def test_releasing_is_a_delete_conditional_on_the_approval_and_false_when_another_holds_it(
    stub: Stubber,
) -> None:
    request = {
        "TableName": TABLE,
        "Key": LOCK_KEY,
        "ConditionExpression": "approval_id = :approval",
        "ExpressionAttributeValues": {":approval": {"S": "a1"}},
    }
    stub.add_response("delete_item", {}, request)
    stub.add_client_error("delete_item", service_error_code=CONDITION_FAILED, expected_params=request)
    stub.add_client_error("delete_item", service_error_code="InternalServerError", expected_params=request)
    released = holds(stub)
    assert released.release_lock("123456789012", "us-east-1", "idle-fraud-xgb", approval_id="a1") is True
    assert released.release_lock("123456789012", "us-east-1", "idle-fraud-xgb", approval_id="a1") is False
    with pytest.raises(ClientError, match="InternalServerError"):
        released.release_lock("123456789012", "us-east-1", "idle-fraud-xgb", approval_id="a1")


def test_a_rejection_is_put_with_its_cooldown_and_kept_30_days_after_it(stub: Stubber) -> None:
    rejected = Rejection(
        account_id="123456789012",
        region="us-east-1",
        endpoint_name="idle-fraud-xgb",
        approval_id="a1",
        rejected_by="U1",
        rejected_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                "pk": {"S": "REJECTION#123456789012#us-east-1#idle-fraud-xgb"},
                "sk": {"S": "REJECTION"},
                "rejected_at": {"S": NOW.isoformat()},
                "expires_at": {"N": str(int((NOW + timedelta(days=7)).timestamp()))},
                "expiration": {"N": str(int((NOW + timedelta(days=37)).timestamp()))},
                "body": {"S": rejected.model_dump_json()},
            },
        },
    )
    holds(stub).put_rejection(rejected)


def batch(keys: list[dict[str, Any]]) -> dict[str, Any]:
    return {"RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}}}


def test_holds_are_read_100_keys_a_call_and_unprocessed_keys_are_asked_again(stub: Stubber) -> None:
    """GIVEN 60 endpoints that could be proposed (120 keys: a lock and a rejection each), and a throttled
    first read WHEN their holds are read THEN calls of at most 100 keys, the unprocessed key asked again
    after a pause, and every lock returned found."""
    findings = [finding(f"idle-{index:02d}") for index in range(60)]
    keys = [
        {"pk": {"S": f"{kind}#123456789012#us-east-1#idle-{index:02d}"}, "sk": {"S": kind}}
        for index in range(60)
        for kind in ("LOCK", "REJECTION")
    ]
    locks = [lock(f"a{i}").model_copy(update={"endpoint_name": f"idle-{i:02d}"}) for i in range(60)]
    items = [{**keys[2 * i], "body": {"S": locks[i].model_dump_json()}} for i in range(60)]
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: items[:49]}, "UnprocessedKeys": {TABLE: {"Keys": [keys[98]]}}},
        batch(keys[:100]),
    )
    stub.add_response(
        "batch_get_item", {"Responses": {TABLE: [items[49]]}}, {"RequestItems": {TABLE: {"Keys": [keys[98]]}}}
    )
    stub.add_response("batch_get_item", {"Responses": {TABLE: items[50:]}}, batch(keys[100:]))
    pauses: list[float] = []
    found = holds(stub).holds_for(findings, sleep=pauses.append)
    assert pauses == [0.05]
    assert sorted(held.approval_id for held in found.locks.values()) == sorted(f"a{i}" for i in range(60))


def test_holds_give_up_when_dynamodb_keeps_leaving_keys_unprocessed(stub: Stubber) -> None:
    keys = [
        {"pk": {"S": f"{kind}#123456789012#us-east-1#idle-fraud-xgb"}, "sk": {"S": kind}}
        for kind in ("LOCK", "REJECTION")
    ]
    for _ in range(BATCH_GET_ATTEMPTS):
        stub.add_response("batch_get_item", {"Responses": {}, "UnprocessedKeys": {TABLE: {"Keys": keys}}})
    pauses: list[float] = []
    with pytest.raises(RuntimeError, match="left 2 lock/rejection key"):
        holds(stub).holds_for([finding()], sleep=pauses.append)
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]  # doubling, at most 2 s


# ---- approvals -------------------------------------------------------------------------------------------
def test_an_approval_is_put_once_and_kept_30_days_after_it_expires(stub: Stubber) -> None:
    request = {
        "TableName": TABLE,
        "Item": {
            **APPROVAL_KEY,
            "state": {"S": "pending"},
            "expires_at": {"N": str(int((NOW + timedelta(hours=1)).timestamp()))},
            "expiration": {"N": str(int((NOW + timedelta(days=30, hours=1)).timestamp()))},
            "body": {"S": approval().model_dump_json()},
        },
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    stub.add_response("put_item", {}, request)
    stub.add_client_error("put_item", service_error_code=CONDITION_FAILED, expected_params=request)
    approvals(stub).put_approval(approval())
    with pytest.raises(ApprovalAlreadyExists):
        approvals(stub).put_approval(approval())


DECISION = {
    "TableName": TABLE,
    "Key": APPROVAL_KEY,
    "UpdateExpression": "SET #state = :new, decided_by = :user, decided_at = :now",
    "ConditionExpression": "#state = :pending AND expires_at > :epoch",
    "ExpressionAttributeNames": {"#state": "state"},
    "ExpressionAttributeValues": {
        ":new": {"S": "approved"},
        ":pending": {"S": "pending"},
        ":user": {"S": "U1"},
        ":now": {"S": NOW.isoformat()},
        ":epoch": {"N": EPOCH_NOW},
    },
}
READ = {"TableName": TABLE, "Key": APPROVAL_KEY, "ConsistentRead": True}


def test_a_decision_is_a_consistent_read_then_an_update_conditional_on_pending_and_unexpired(
    stub: Stubber,
) -> None:
    stub.add_response("get_item", {"Item": approval_item(ApprovalState.PENDING)}, READ)
    stub.add_response("update_item", {}, DECISION)
    decided = approvals(stub).decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW)
    assert (decided.state, decided.decided_by, decided.decided_at) == (ApprovalState.APPROVED, "U1", NOW)


@pytest.mark.parametrize(
    ("read_after_failure", "raised", "message"),
    [
        (approval_item(ApprovalState.REJECTED, "U2"), ApprovalAlreadyDecided, "already rejected"),
        (approval_item(ApprovalState.EXPIRED), ApprovalExpired, "expired"),
        (approval_item(ApprovalState.PENDING), ApprovalAlreadyDecided, "decided concurrently"),
    ],
    ids=["another click won", "the timeout won", "pending again"],
)
def test_a_decision_that_loses_the_race_reads_again_to_say_what_won(
    stub: Stubber, read_after_failure: dict[str, Any], raised: type[Exception], message: str
) -> None:
    """GIVEN a pending approval WHEN its conditional update fails THEN it is read again, and the error
    says what happened: decided by another click, expired, or (pending again) decided concurrently."""
    stub.add_response("get_item", {"Item": approval_item(ApprovalState.PENDING)}, READ)
    stub.add_client_error("update_item", service_error_code=CONDITION_FAILED, expected_params=DECISION)
    stub.add_response("get_item", {"Item": read_after_failure}, READ)
    with pytest.raises(raised, match=message):
        approvals(stub).decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW)


def test_a_decided_approval_is_refused_before_any_write(stub: Stubber) -> None:
    stub.add_response("get_item", {"Item": approval_item(ApprovalState.APPROVED, "U2")}, READ)
    with pytest.raises(ApprovalAlreadyDecided, match="already approved"):
        approvals(stub).decide_approval("abc123", ApprovalState.APPROVED, user_id="U1", now=NOW)


def test_reopening_is_an_update_conditional_on_the_same_decider(stub: Stubber) -> None:
    request = {
        "TableName": TABLE,
        "Key": APPROVAL_KEY,
        "UpdateExpression": "SET #state = :pending REMOVE decided_by, decided_at",
        "ConditionExpression": "decided_by = :user AND #state IN (:approved, :rejected)",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {
            ":pending": {"S": "pending"},
            ":user": {"S": "U1"},
            ":approved": {"S": "approved"},
            ":rejected": {"S": "rejected"},
        },
    }
    stub.add_response("update_item", {}, request)
    stub.add_client_error("update_item", service_error_code=CONDITION_FAILED, expected_params=request)
    approvals(stub).reopen("abc123", decided_by="U1")
    with pytest.raises(ApprovalNotReopened):
        approvals(stub).reopen("abc123", decided_by="U1")


def test_marking_expired_is_an_unconditional_state_update(stub: Stubber) -> None:
    stub.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": APPROVAL_KEY,
            "UpdateExpression": "SET #state = :expired",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":expired": {"S": "expired"}},
        },
    )
    approvals(stub).mark_expired("abc123")
