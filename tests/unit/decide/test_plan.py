"""The analyzer's first rungs: park idle endpoints, leave everything else alone with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import jsonschema
import pytest

from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.decide.confirm.images import NO_KNOWN_ARM64_BUILD
from endpoint_optimizer.decide.plan import choose_actions, decide, hold_back, is_actionable
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.models import (
    Action,
    ApprovalLock,
    Finding,
    Holds,
    Plan,
    Rejection,
    ScannedEndpoint,
    ScanSnapshot,
    endpoint_key,
)
from endpoint_optimizer.plan_contract import plan_document, plan_schema
from tests.conftest import NOW, policy
from tests.unit.conftest import analyze_targets, plans_of
from tests.unit.fake_s3 import FakeS3


def scanned(snapshot: ScanSnapshot, name: str) -> ScannedEndpoint:
    return next(item for item in snapshot.endpoints if item.endpoint.name == name)


def test_idle_endpoint_with_utilisation_metrics_is_parked_with_full_savings(snapshot: ScanSnapshot) -> None:
    # GIVEN an ml.m5.large endpoint, 30 days old, CPU reported every hour, zero invocations
    # WHEN it is decided
    finding = decide(scanned(snapshot, "idle-fraud-xgb"), bundled_price_book(), policy(), NOW)
    # THEN it is parked, and the saving is its whole cost: 0.115 $/h x 1 instance x 730 h
    assert finding.action == Action.PARK
    assert finding.current_monthly_cost_usd == pytest.approx(83.95)
    assert finding.estimated_monthly_savings_usd == pytest.approx(83.95)
    assert "0 invocations in 14 days while CPU metrics were reported on 14 of 14 days" in finding.reasons
    assert finding.blocked_by == []


@pytest.mark.parametrize(
    ("name", "reason_fragment", "blocker"),
    [
        ("new-idle-churn", "created 2.0 days ago, within the 7-day grace period", "grace period"),
        ("opted-out-idle", "opted out: tag endpoint-optimizer:skip=true", "tag endpoint-optimizer:skip=true"),
        ("serverless-sentiment", "already on Serverless Inference", None),
        ("no-metrics-legacy", "signal missing: CPUUtilization reported on 0 of 14 days", "signal missing"),
    ],
)
def test_endpoints_that_must_be_left_alone_get_none_with_a_reason(
    snapshot: ScanSnapshot, name: str, reason_fragment: str, blocker: str | None
) -> None:
    finding = decide(scanned(snapshot, name), bundled_price_book(), policy(), NOW)
    assert finding.action == Action.NONE
    assert any(reason_fragment in reason for reason in finding.reasons), finding.reasons
    assert finding.blocked_by == ([blocker] if blocker else [])


def test_busy_x86_endpoint_without_a_known_arm64_image_gets_only_blocked_graviton_advice(
    snapshot: ScanSnapshot,
) -> None:
    finding = decide(scanned(snapshot, "busy-search-ranker"), bundled_price_book(), policy(), NOW)
    assert finding.action in {Action.NONE, Action.MIGRATE_GRAVITON}
    if finding.action == Action.MIGRATE_GRAVITON:
        assert any(NO_KNOWN_ARM64_BUILD in blocker for blocker in finding.blocked_by)


def test_idle_endpoint_with_skip_tag_is_left_alone_even_when_idle(snapshot: ScanSnapshot) -> None:
    item = scanned(snapshot, "idle-fraud-xgb")
    tagged = item.model_copy(
        update={"endpoint": item.endpoint.model_copy(update={"tags": {"endpoint-optimizer:skip": "TRUE"}})}
    )
    assert decide(tagged, bundled_price_book(), policy(), NOW).action == Action.NONE


def test_endpoint_changed_within_grace_period_is_left_alone(snapshot: ScanSnapshot) -> None:
    item = scanned(snapshot, "idle-fraud-xgb")
    changed = item.model_copy(
        update={"endpoint": item.endpoint.model_copy(update={"last_modified_at": NOW - timedelta(days=1)})}
    )
    finding = decide(changed, bundled_price_book(), policy(), NOW)
    assert finding.action == Action.NONE
    assert finding.blocked_by == ["grace period"]


def test_unknown_price_is_reported_as_unknown_not_guessed(snapshot: ScanSnapshot) -> None:
    item = scanned(snapshot, "idle-fraud-xgb")
    variant = item.endpoint.variants[0].model_copy(update={"instance_type": "ml.r5.24xlarge"})
    exotic = item.model_copy(update={"endpoint": item.endpoint.model_copy(update={"variants": [variant]})})
    finding = decide(exotic, bundled_price_book(), policy(), NOW)
    assert finding.action == Action.PARK
    assert finding.current_monthly_cost_usd is None
    assert finding.estimated_monthly_savings_usd is None
    assert any("hourly price unknown for ml.r5.24xlarge in us-east-1" in reason for reason in finding.reasons)


def test_every_scanned_endpoint_appears_once_in_the_plan_and_the_plan_matches_the_schema(
    snapshot: ScanSnapshot,
) -> None:
    plan, _ = analyze_target(snapshot, bundled_price_book(), policy(), NOW)
    names = [finding.endpoint_name for finding in plan.findings]
    assert sorted(names) == sorted(item.endpoint.name for item in snapshot.endpoints)
    jsonschema.validate(plan_document(plan), plan_schema())


def test_plan_schema_rejects_an_unknown_action(snapshot: ScanSnapshot) -> None:
    document = plan_document(analyze_target(snapshot, bundled_price_book(), policy(), NOW)[0])
    document["findings"][0]["action"] = "delete_everything"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, plan_schema())


def test_report_mode_proposes_no_actions(snapshot: ScanSnapshot) -> None:
    s3 = FakeS3()
    analysis = analyze_targets(s3, snapshot, chosen=policy(MODE="report"))
    assert analysis.actions == []
    assert any(f.action == Action.PARK for f in plans_of(s3, analysis)[0].findings)


def test_max_actions_per_run_defers_the_rest_largest_savings_first(snapshot: ScanSnapshot) -> None:
    idle = scanned(snapshot, "idle-fraud-xgb")
    bigger = idle.model_copy(
        update={
            "endpoint": idle.endpoint.model_copy(
                update={
                    "name": "idle-big",
                    "variants": [
                        idle.endpoint.variants[0].model_copy(update={"instance_type": "ml.g5.xlarge"})
                    ],
                }
            )
        }
    )
    fleet = snapshot.model_copy(update={"endpoints": [*snapshot.endpoints, bigger]})
    analysis = analyze_targets(FakeS3(), fleet, chosen=policy(MAX_ACTIONS_PER_RUN=1))
    assert [action.finding.endpoint_name for action in analysis.actions] == ["idle-big"]
    assert analysis.deferred == ["idle-fraud-xgb"]
    assert analysis.actions[0].approval_timeout_seconds == 24 * 3600


def _park(name: str, cost: float | None) -> Finding:
    return Finding(
        endpoint_name=name,
        account_id="123456789012",
        region="us-east-1",
        action=Action.PARK,
        current_monthly_cost_usd=cost,
        estimated_monthly_savings_usd=cost,
        reasons=["0 invocations in 14 days"],
    )


def test_max_monthly_change_caps_the_money_changed_in_one_run() -> None:
    # GIVEN three idle endpoints worth 3000, 1500 and 800 a month and a 4000 cap
    findings = [_park("a", 3000.0), _park("b", 1500.0), _park("c", 800.0)]
    actions, deferred = choose_actions(findings, policy(MAX_MONTHLY_CHANGE_USD=4000), run_id="r")
    # THEN the largest that fit are taken and the rest waits
    assert [a.finding.endpoint_name for a in actions] == ["a", "c"]
    assert deferred == ["b"]


def test_a_change_that_cannot_be_priced_waits_for_a_known_price() -> None:
    actions, deferred = choose_actions([_park("unpriced", None), _park("priced", 10.0)], policy(), run_id="r")
    assert [a.finding.endpoint_name for a in actions] == ["priced"]
    assert deferred == ["unpriced"]


def test_smallest_risk_goes_first() -> None:
    schedule = _park("business", 50.0).model_copy(update={"action": Action.SCHEDULE})
    serverless = _park("sporadic", 900.0).model_copy(update={"action": Action.MIGRATE_SERVERLESS})
    actions, _ = choose_actions([serverless, _park("idle", 100.0), schedule], policy(), run_id="r")
    assert [a.finding.action for a in actions] == [Action.SCHEDULE, Action.PARK, Action.MIGRATE_SERVERLESS]


# ------------------------------------------------------------------ one open approval per endpoint


def _with_bigger_idle(snapshot: ScanSnapshot) -> ScanSnapshot:
    """The sample fleet plus `idle-big`, an idle ml.g5.xlarge: the larger saving, chosen first."""
    idle = scanned(snapshot, "idle-fraud-xgb")
    variant = idle.endpoint.variants[0].model_copy(update={"instance_type": "ml.g5.xlarge"})
    bigger = idle.model_copy(
        update={"endpoint": idle.endpoint.model_copy(update={"name": "idle-big", "variants": [variant]})}
    )
    return snapshot.model_copy(update={"endpoints": [*snapshot.endpoints, bigger]})


def _lock(name: str, *, requested_at: datetime, expires_at: datetime) -> ApprovalLock:
    return ApprovalLock(
        account_id="123456789012",
        region="us-east-1",
        endpoint_name=name,
        approval_id="k3Jd9sLq0aZx",
        action_id="a1",
        requested_at=requested_at,
        expires_at=expires_at,
    )


def _rejection(name: str, *, rejected_at: datetime) -> Rejection:
    return Rejection(
        account_id="123456789012",
        region="us-east-1",
        endpoint_name=name,
        approval_id="k3Jd9sLq0aZx",
        rejected_by="U123",
        rejected_at=rejected_at,
        expires_at=rejected_at + timedelta(days=14),
    )


def _key(name: str) -> str:
    return endpoint_key("123456789012", "us-east-1", name)


def test_an_endpoint_with_an_approval_pending_waits_with_the_reason_and_leaves_its_place_to_another(
    snapshot: ScanSnapshot,
) -> None:
    # GIVEN two idle endpoints, one action a run, and an approval for the larger one open since yesterday
    fleet = _with_bigger_idle(snapshot)
    pending = _lock("idle-big", requested_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(hours=1))
    holds = Holds(locks={_key("idle-big"): pending})
    # WHEN the run is analyzed
    s3 = FakeS3()
    analysis = analyze_targets(s3, fleet, chosen=policy(MAX_ACTIONS_PER_RUN=1), holds=holds)
    # THEN the other idle endpoint gets the run's one place, nothing is deferred, and the plan says why
    assert [action.finding.endpoint_name for action in analysis.actions] == ["idle-fraud-xgb"]
    assert analysis.deferred == []
    big = next(f for f in plans_of(s3, analysis)[0].findings if f.endpoint_name == "idle-big")
    assert big.action == Action.PARK
    assert big.blocked_by == ["approval pending since 2026-11-29 12:00 UTC (approval k3Jd9sLq0aZx)"]


def test_a_lock_past_its_expiry_does_not_hold_the_endpoint_even_before_ttl_deletes_it(
    snapshot: ScanSnapshot,
) -> None:
    stale = _lock("idle-fraud-xgb", requested_at=NOW - timedelta(days=2), expires_at=NOW)
    holds = Holds(locks={_key("idle-fraud-xgb"): stale})
    analysis = analyze_targets(FakeS3(), snapshot, holds=holds)
    assert [action.finding.endpoint_name for action in analysis.actions] == ["idle-fraud-xgb"]


@pytest.mark.parametrize(
    ("rejected_days_ago", "cooldown_days", "held_back"),
    [(13, 14, True), (14, 14, False), (13, 12, False), (0, 0, False)],
)
def test_a_rejected_endpoint_waits_for_the_cooldown_and_no_longer(
    snapshot: ScanSnapshot, rejected_days_ago: int, cooldown_days: int, held_back: bool
) -> None:
    # GIVEN the idle endpoint was rejected `rejected_days_ago` days ago, with RejectionCooldownDays set
    rejection = _rejection("idle-fraud-xgb", rejected_at=NOW - timedelta(days=rejected_days_ago))
    holds = Holds(rejections={_key("idle-fraud-xgb"): rejection})
    chosen = policy(REJECTION_COOLDOWN_DAYS=cooldown_days)
    # WHEN analyzed THEN it is proposed only once the cooldown is over
    s3 = FakeS3()
    analysis = analyze_targets(s3, snapshot, chosen=chosen, holds=holds)
    finding = next(f for f in plans_of(s3, analysis)[0].findings if f.endpoint_name == "idle-fraud-xgb")
    assert [a.finding.endpoint_name for a in analysis.actions] == ([] if held_back else ["idle-fraud-xgb"])
    if held_back:
        assert finding.blocked_by == ["rejected by U123 on 2026-11-17, cooldown until 2026-12-01"]
    else:
        assert finding.blocked_by == []


def test_the_waiting_list_names_each_held_endpoint_and_why() -> None:
    findings = [_park("a", 10.0), _park("b", 20.0), _park("c", 30.0)]
    plan = Plan(generated_at=NOW, region="us-east-1", lookback_days=14, findings=findings)
    holds = Holds(
        locks={_key("a"): _lock("a", requested_at=NOW, expires_at=NOW + timedelta(hours=25))},
        rejections={_key("b"): _rejection("b", rejected_at=NOW - timedelta(days=1))},
    )
    held, waiting = hold_back(plan, holds, policy(), NOW)
    assert waiting == [
        "a: approval pending since 2026-11-30 12:00 UTC (approval k3Jd9sLq0aZx)",
        "b: rejected by U123 on 2026-11-29, cooldown until 2026-12-13",
    ]
    assert [f.endpoint_name for f in held.findings if is_actionable(f)] == ["c"]


def test_actions_carry_the_rejection_cooldown_to_the_approval() -> None:
    actions, _ = choose_actions([_park("a", 10.0)], policy(REJECTION_COOLDOWN_DAYS=3), run_id="r")
    assert [action.rejection_cooldown_days for action in actions] == [3]
