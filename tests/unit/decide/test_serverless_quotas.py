"""A move to Serverless Inference is proposed only when the account's serverless quotas in the region can
take it: the serverless endpoints and their MaxConcurrency already in the snapshot, plus the moves the same
plan proposes (largest saving first), against the quotas the scan read (or AWS's defaults)."""

from __future__ import annotations

from datetime import timedelta

from emulated_aws.labelled_fleet import generate, labelled_price_book
from endpoint_optimizer.decide.plan import is_actionable, plan_for
from endpoint_optimizer.decide.rules.serverless import within_serverless_quotas
from endpoint_optimizer.models import (
    Action,
    Endpoint,
    Finding,
    Quota,
    ScannedEndpoint,
    ScanSnapshot,
    ServerlessQuotas,
    Variant,
)
from tests.conftest import NOW, policy

ACCOUNT = "123456789012"
REGION = "us-east-1"


def quotas(endpoints: int, concurrency: int) -> ServerlessQuotas:
    return ServerlessQuotas(
        endpoints=Quota(code="L-99AD19BF", value=endpoints),
        concurrency=Quota(code="L-96300102", value=concurrency),
    )


def serverless(name: str, max_concurrency: int) -> ScannedEndpoint:
    return ScannedEndpoint(
        endpoint=Endpoint(
            name=name,
            arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
            account_id=ACCOUNT,
            region=REGION,
            status="InService",
            created_at=NOW - timedelta(days=60),
            last_modified_at=NOW - timedelta(days=60),
            config_name=f"{name}-config",
            variants=[
                Variant(
                    name="AllTraffic", serverless_memory_mb=2048, serverless_max_concurrency=max_concurrency
                )
            ],
        )
    )


def snapshot(*endpoints: ScannedEndpoint, read: ServerlessQuotas | None) -> ScanSnapshot:
    return ScanSnapshot(
        account_id=ACCOUNT,
        region=REGION,
        scanned_at=NOW,
        lookback_days=14,
        endpoints=list(endpoints),
        serverless_quotas=read,
    )


def move(name: str, savings: float, max_concurrency: int = 1, blocked_by: list[str] | None = None) -> Finding:
    return Finding(
        endpoint_name=name,
        account_id=ACCOUNT,
        region=REGION,
        action=Action.MIGRATE_SERVERLESS,
        current_monthly_cost_usd=savings + 10,
        estimated_monthly_savings_usd=savings,
        reasons=["sporadic traffic"],
        blocked_by=blocked_by or [],
        evidence={"serverless_memory_mb": 2048, "max_concurrency": max_concurrency},
    )


def test_a_move_when_the_serverless_endpoint_quota_is_reached_is_blocked_with_the_numbers() -> None:
    # GIVEN ten serverless endpoints in the region and a quota of ten serverless endpoints
    in_use = [serverless(f"faq-{i}", 1) for i in range(10)]

    # WHEN one more endpoint would move to serverless
    (judged,) = within_serverless_quotas([move("ranker", 80.0)], snapshot(*in_use, read=quotas(10, 1000)))

    # THEN the move is blocked, saying which quota, how full it is, where, and its code; nobody is asked
    assert judged.blocked_by == [
        "serverless quota: 10 of 10 serverless endpoints in use in us-east-1 (Service Quotas L-99AD19BF); "
        "request a quota increase to move it"
    ]
    assert not is_actionable(judged)


def test_a_move_whose_concurrency_would_exceed_the_total_is_blocked_with_the_numbers() -> None:
    # GIVEN two serverless endpoints with MaxConcurrency 4 each and a total concurrency quota of 10
    in_use = [serverless("faq", 4), serverless("summaries", 4)]

    # WHEN a move needs MaxConcurrency 3
    (judged,) = within_serverless_quotas([move("ranker", 80.0, 3)], snapshot(*in_use, read=quotas(50, 10)))

    # THEN it is blocked: 8 + 3 > 10
    assert judged.blocked_by == [
        "serverless quota: MaxConcurrency 8 of 10 in use in us-east-1, 3 more for this endpoint would exceed "
        "it (Service Quotas L-96300102); request a quota increase to move it"
    ]


def test_with_headroom_for_one_only_the_larger_saving_of_two_moves_is_proposed() -> None:
    # GIVEN headroom for one serverless endpoint (4 of 5 in use) and two moves, worth 80 and 150 a month
    in_use = [serverless(f"faq-{i}", 1) for i in range(4)]
    findings = [move("small-saving", 80.0), move("large-saving", 150.0)]

    # WHEN the region's moves are held to the quotas
    small, large = within_serverless_quotas(findings, snapshot(*in_use, read=quotas(5, 1000)))

    # THEN the larger saving takes the headroom, the other waits with why
    assert large.blocked_by == [] and is_actionable(large)
    assert small.blocked_by == [
        "serverless quota: 4 of 5 serverless endpoints in use in us-east-1, 1 more taken by moves proposed "
        "before it in this plan (Service Quotas L-99AD19BF); request a quota increase to move it"
    ]


def test_a_smaller_move_that_still_fits_is_proposed_after_a_larger_one_was_refused() -> None:
    # GIVEN 6 of 10 concurrency in use, a move worth more that needs 5 and one worth less that needs 2
    findings = [move("needs-five", 150.0, 5), move("needs-two", 80.0, 2)]

    # WHEN held to the quotas
    five, two = within_serverless_quotas(findings, snapshot(serverless("faq", 6), read=quotas(50, 10)))

    # THEN the one that cannot fit is blocked and the one that fits is proposed
    assert five.blocked_by and five.blocked_by[0].startswith("serverless quota: MaxConcurrency 6 of 10")
    assert two.blocked_by == []


def test_a_move_blocked_for_another_reason_takes_no_headroom() -> None:
    # GIVEN room for one more serverless endpoint, and a larger move blocked by data capture
    findings = [move("captured", 150.0, blocked_by=["data capture is on"]), move("plain", 80.0)]

    # WHEN held to the quotas
    captured, plain = within_serverless_quotas(findings, snapshot(read=quotas(1, 10)))

    # THEN the blocked one keeps its own reason only, and the other gets the headroom
    assert captured.blocked_by == ["data capture is on"]
    assert plain.blocked_by == []


def test_a_snapshot_without_quotas_is_judged_against_the_aws_defaults_and_says_so() -> None:
    # GIVEN a snapshot written before the scan read quotas, with 5 serverless endpoints (the default quota)
    in_use = [serverless(f"faq-{i}", 1) for i in range(5)]

    # WHEN a move is judged
    (judged,) = within_serverless_quotas([move("ranker", 80.0)], snapshot(*in_use, read=None))

    # THEN the default 5 applies, and the reason says it was assumed and why
    assert judged.blocked_by == [
        "serverless quota: 5 of 5 serverless endpoints in use in us-east-1 (Service Quotas L-99AD19BF not "
        "read (not in this snapshot, written before the scan read quotas): AWS default 5 assumed); request a "
        "quota increase to move it"
    ]


def test_the_plan_of_a_region_proposes_no_more_serverless_moves_than_the_headroom() -> None:
    # GIVEN the labelled fleet's two sporadic endpoints the ladder moves to serverless (83.95 and 148.92 a
    # month), in a region with 4 of its 5 serverless endpoints in use
    fleet = {item.scanned.endpoint.name: item.scanned for item in generate(NOW, copies=1)}
    candidates = [fleet["sporadic-cpu-0"], fleet["weekly-batch-0"]]
    in_use = [serverless(f"faq-{i}", 1) for i in range(4)]

    # WHEN the region's plan is made
    plan = plan_for(
        snapshot(*candidates, *in_use, read=quotas(5, 1000)), labelled_price_book(), policy(), NOW
    )

    # THEN one move is proposed (the larger saving) and the other is blocked by the quota
    moves = {f.endpoint_name: f for f in plan.findings if f.action == Action.MIGRATE_SERVERLESS}
    assert set(moves) == {"sporadic-cpu-0", "weekly-batch-0"}
    assert [name for name, f in moves.items() if is_actionable(f)] == ["weekly-batch-0"]
    assert moves["sporadic-cpu-0"].blocked_by[-1].startswith("serverless quota: 4 of 5 serverless endpoints")
