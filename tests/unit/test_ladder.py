"""The fix ladder on a labelled synthetic fleet, and the guards as properties that hold for any input."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulated_aws.labelled_fleet import Labelled, generate, labelled_price_book
from endpoint_optimizer.ladder import PARK_PERMISSIONS, RULES, consolidate, decide, instance_specs
from endpoint_optimizer.models import Action, Finding, ScannedEndpoint, Variant, VariantMetrics
from endpoint_optimizer.settings import Policy

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POLICY = Policy.from_env(
    {
        "MODE": "approve",
        "LOOKBACK_DAYS": "14",
        "GRACE_DAYS": "7",
        "SKIP_TAG_KEY": "endpoint-optimizer:skip",
        "MAX_ACTIONS_PER_RUN": "5",
        "APPROVAL_TIMEOUT_HOURS": "24",
    }
)
PRICES = labelled_price_book()


@pytest.fixture(scope="module")
def fleet() -> list[Labelled]:
    return generate(NOW)


@pytest.fixture(scope="module")
def decided(fleet: list[Labelled]) -> list[tuple[Labelled, Finding]]:
    findings = [decide(item.scanned, PRICES, POLICY, NOW) for item in fleet]
    findings = consolidate(findings, [item.scanned for item in fleet], PRICES)
    return list(zip(fleet, findings, strict=True))


def test_labelled_fleet_has_no_harmful_action(decided: list[tuple[Labelled, Finding]]) -> None:
    harmful = [
        (item.scanned.endpoint.name, finding.action.value)
        for item, finding in decided
        if finding.action != Action.NONE and finding.action not in item.accepted
    ]
    assert harmful == []


def test_graviton_is_only_proposed_unblocked_for_a_known_arm64_image(
    decided: list[tuple[Labelled, Finding]],
) -> None:
    for item, finding in decided:
        if finding.action == Action.MIGRATE_GRAVITON and not finding.blocked_by:
            assert "graviton" in (item.scanned.endpoint.variants[0].image or "")


def test_labelled_fleet_gets_an_accepted_action_for_at_least_95_percent(
    decided: list[tuple[Labelled, Finding]],
) -> None:
    misses = Counter(item.archetype for item, finding in decided if finding.action not in item.accepted)
    agreement = 1 - sum(misses.values()) / len(decided)
    assert agreement >= 0.95, misses


def test_cost_of_endpoints_needing_a_fix_is_at_least_97_percent_covered(
    decided: list[tuple[Labelled, Finding]],
) -> None:
    needing = [(item, finding) for item, finding in decided if item.needs_action]
    total = sum(finding.current_monthly_cost_usd or 0 for _, finding in needing)
    covered = sum(
        finding.current_monthly_cost_usd or 0
        for item, finding in needing
        if finding.action in item.accepted and finding.action != Action.NONE
    )
    assert total > 0
    assert covered / total >= 0.97


def test_every_archetype_is_in_the_fleet(fleet: list[Labelled]) -> None:
    archetypes = {item.archetype for item in fleet}
    for expected in (
        "idle-cpu", "idle-inference-components", "async-sporadic", "sporadic-cpu", "business-hours",
        "oversized-count", "oversized-size", "x86-with-arm64-image", "consolidate-group",
        "trap-sporadic-gpu", "trap-sporadic-40gb-model", "trap-new-idle", "trap-opted-out-idle",
        "trap-multi-variant-one-idle", "trap-no-metrics",
    ):  # fmt: skip
        assert expected in archetypes


def test_every_fix_and_every_in_use_verdict_names_the_numbers_behind_it(
    decided: list[tuple[Labelled, Finding]],
) -> None:
    for _, finding in decided:
        assert finding.reasons
        if finding.action != Action.NONE or finding.reasons[0].startswith("in use"):
            assert any(character.isdigit() for character in finding.reasons[0]), finding.reasons[0]


def test_idle_reason_says_how_long_and_how_well_monitored(decided: list[tuple[Labelled, Finding]]) -> None:
    parked = next(finding for item, finding in decided if item.archetype == "idle-cpu")
    assert parked.reasons[0] == "0 invocations in 14 days while CPU metrics were reported on 14 of 14 days"


def test_every_rule_declares_the_permissions_it_needs() -> None:
    assert {rule.action for rule in RULES} == {
        Action.PARK, Action.SCALE_TO_ZERO, Action.MIGRATE_SERVERLESS, Action.SCHEDULE,
        Action.RIGHTSIZE, Action.MIGRATE_GRAVITON,
    }  # fmt: skip
    for rule in RULES:
        assert rule.permissions, rule.action
        assert all(":" in permission for permission in rule.permissions)
    assert [rule.action for rule in RULES if rule.applied] == [Action.PARK]
    assert next(rule for rule in RULES if rule.action == Action.PARK).permissions == PARK_PERMISSIONS


# ---- properties of the guards ---------------------------------------------------------------------
CPU_TYPES = [
    t for t, spec in instance_specs().items() if not spec.accelerated and spec.architecture == "x86_64"
]
GPU_TYPES = [t for t, spec in instance_specs().items() if spec.accelerated and spec.accelerator]
START = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(days=14)


@st.composite
def scanned_endpoints(draw: st.DrawFn, *, instance_types: list[str] | None = None) -> ScannedEndpoint:
    instance_type = draw(st.sampled_from(instance_types or CPU_TYPES + GPU_TYPES))
    count = draw(st.integers(1, 6))
    age = draw(st.floats(0.1, 400))
    active = draw(st.sets(st.integers(0, 335), max_size=336))
    per_hour = draw(st.floats(0.5, 5000))
    cpu_days = draw(st.integers(0, 14))
    metrics = VariantMetrics(
        variant_name="AllTraffic",
        window_start=START,
        window_hours=336,
        window_days=14,
        invocations_total=per_hour * len(active),
        hours_with_invocations=len(active),
        invocation_datapoints=len(active),
        invocations_by_hour=sorted((hour, per_hour) for hour in active),
        cpu_days_reported=cpu_days,
        cpu_max_percent=draw(st.floats(0, 100)) if cpu_days else None,
        memory_max_percent=draw(st.floats(0, 100)) if cpu_days else None,
        gpu_max_percent=draw(st.floats(0, 100)) if cpu_days else None,
        model_latency_avg_us=draw(st.floats(1_000, 2_000_000)) if active else None,
    )
    from emulated_aws.labelled_fleet import _endpoint

    endpoint = _endpoint(
        "prop",
        NOW,
        [Variant(name="AllTraffic", instance_type=instance_type, instance_count=count, image="img:1")],
        age_days=age,
        tags={"endpoint-optimizer:skip": draw(st.sampled_from(["true", "false", "TRUE", "no"]))}
        if draw(st.booleans())
        else {},
        async_inference=draw(st.booleans()),
    )
    return ScannedEndpoint(endpoint=endpoint, metrics=[metrics])


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scanned_endpoints())
def test_no_utilisation_metrics_never_parks(scanned: ScannedEndpoint) -> None:
    silent = scanned.model_copy(
        update={
            "metrics": [
                scanned.metrics[0].model_copy(update={"cpu_days_reported": 0, "cpu_max_percent": None})
            ]
        }
    )
    assert decide(silent, PRICES, POLICY, NOW).action != Action.PARK


@PROPERTY_SETTINGS
@given(scanned_endpoints(instance_types=GPU_TYPES))
def test_accelerated_endpoint_is_never_moved_to_serverless(scanned: ScannedEndpoint) -> None:
    assert decide(scanned, PRICES, POLICY, NOW).action != Action.MIGRATE_SERVERLESS


@PROPERTY_SETTINGS
@given(scanned_endpoints(instance_types=[t for t in CPU_TYPES if instance_specs()[t].memory_gib >= 16]))
def test_memory_over_the_serverless_limit_is_never_moved_to_serverless(scanned: ScannedEndpoint) -> None:
    spec = instance_specs()[scanned.endpoint.variants[0].instance_type or ""]
    over_limit = 100 * 6.2 / spec.memory_gib  # 6.2 GB in use: over 6144 MB before any headroom
    metrics = scanned.metrics[0].model_copy(update={"memory_max_percent": min(100.0, max(over_limit, 1.0))})
    assert decide(scanned.model_copy(update={"metrics": [metrics]}), PRICES, POLICY, NOW).action != (
        Action.MIGRATE_SERVERLESS
    )


@PROPERTY_SETTINGS
@given(scanned_endpoints(), st.sampled_from(["true", "TRUE", " True "]))
def test_skip_tag_always_means_none(scanned: ScannedEndpoint, value: str) -> None:
    tagged = scanned.endpoint.model_copy(update={"tags": {"endpoint-optimizer:skip": value}})
    finding = decide(scanned.model_copy(update={"endpoint": tagged}), PRICES, POLICY, NOW)
    assert finding.action == Action.NONE
    assert finding.blocked_by == ["tag endpoint-optimizer:skip=true"]


@PROPERTY_SETTINGS
@given(scanned_endpoints(), st.floats(0, 6.99))
def test_younger_than_the_grace_period_always_means_none(scanned: ScannedEndpoint, age_days: float) -> None:
    young = scanned.endpoint.model_copy(
        update={
            "created_at": NOW - timedelta(days=age_days),
            "last_modified_at": NOW - timedelta(days=age_days),
        }
    )
    finding = decide(scanned.model_copy(update={"endpoint": young}), PRICES, POLICY, NOW)
    assert finding.action == Action.NONE
