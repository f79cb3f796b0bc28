"""The fix ladder on a labelled synthetic fleet, and the guards as properties that hold for any input."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emulated_aws.labelled_fleet import Labelled, generate, labelled_price_book
from endpoint_optimizer.decide.confirm.images import arm64_image_of
from endpoint_optimizer.decide.ladder import decide
from endpoint_optimizer.decide.rules import LADDER, PARK_PERMISSIONS
from endpoint_optimizer.decide.rules.consolidate import consolidate
from endpoint_optimizer.decide.signals import SIGNAL_FIELDS, gpu_count, instance_specs, reading, signal_units
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import Action, Finding, ScannedEndpoint, Variant, VariantMetrics

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
        if finding.action != Action.NONE and not item.agrees(finding)
    ]
    assert harmful == []


def test_graviton_is_only_proposed_unblocked_for_a_known_arm64_image(
    decided: list[tuple[Labelled, Finding]],
) -> None:
    for item, finding in decided:
        if finding.action == Action.MIGRATE_GRAVITON and not finding.blocked_by:
            arm64_image = arm64_image_of(item.scanned.endpoint.variants[0].image)
            assert arm64_image is not None
            assert finding.evidence["arm64_image"] == arm64_image


def test_labelled_fleet_gets_an_accepted_action_for_at_least_95_percent(
    decided: list[tuple[Labelled, Finding]],
) -> None:
    misses = Counter(item.archetype for item, finding in decided if not item.agrees(finding))
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
        if item.agrees(finding) and finding.action != Action.NONE and not finding.blocked_by
    )
    assert total > 0
    assert covered / total >= 0.97


def test_every_archetype_is_in_the_fleet(fleet: list[Labelled]) -> None:
    archetypes = {item.archetype for item in fleet}
    for expected in (
        "idle-cpu", "idle-inference-components", "async-sporadic", "sporadic-cpu", "business-hours",
        "oversized-count", "oversized-size", "x86-with-arm64-image", "consolidate-group",
        "trap-sporadic-gpu", "trap-sporadic-40gb-model", "trap-new-idle", "trap-opted-out-idle",
        "trap-multi-variant-one-idle", "trap-no-metrics", "sudden-start", "sudden-stop", "slow-ramp",
        "traffic-jump", "traffic-drop", "start-settled", "weekly-batch", "weekly-batch-seen-once",
        "business-hours-young",
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
    assert [rung.action for rung in LADDER] == [
        Action.PARK, Action.SCALE_TO_ZERO, Action.MIGRATE_SERVERLESS, Action.SCHEDULE,
        Action.RIGHTSIZE, Action.MIGRATE_GRAVITON, Action.CONSOLIDATE,
    ]  # fmt: skip
    for rung in LADDER:
        # consolidate has no apply step designed (a migration plan per model), so nothing to grant
        assert rung.writes or rung.action == Action.CONSOLIDATE, rung.action
        assert all(":" in permission for permission in (*rung.reads, *rung.writes))
    # every rung is applied (issue 10) but consolidate, a migration plan per model
    assert [rung.action for rung in LADDER if not rung.applied] == [Action.CONSOLIDATE]
    assert next(rung for rung in LADDER if rung.action == Action.PARK).writes == PARK_PERMISSIONS


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


# ---- utilisation in the instance's own terms (issue 7) --------------------------------------------
# CloudWatch publishes CPUUtilization summed over the vCPUs and GPUUtilization over the GPUs; these
# endpoints carry their metrics exactly as published.
def steady(
    instance_type: str,
    *,
    cpu: float,
    memory: float = 20.0,
    gpu: float | None = None,
    count: int = 1,
    image: str = "img:1",
    name: str = "steady",
) -> ScannedEndpoint:
    """An endpoint with 100 invocations every hour of the 14 days and the given published peaks."""
    from emulated_aws.labelled_fleet import _endpoint

    hours = list(range(336))
    metrics = VariantMetrics(
        variant_name="AllTraffic",
        window_start=START,
        window_hours=336,
        window_days=14,
        invocations_total=100.0 * len(hours),
        hours_with_invocations=len(hours),
        invocation_datapoints=len(hours),
        invocations_by_hour=[(hour, 100.0) for hour in hours],
        cpu_days_reported=14,
        cpu_max_percent=cpu,
        memory_max_percent=memory,
        gpu_max_percent=gpu,
        model_latency_avg_us=50_000.0,
    )
    variant = Variant(name="AllTraffic", instance_type=instance_type, instance_count=count, image=image)
    return ScannedEndpoint(endpoint=_endpoint(name, NOW, [variant]), metrics=[metrics])


def test_gpu_endpoint_at_12_percent_per_core_and_5_percent_gpu_is_proposed_for_rightsizing() -> None:
    # GIVEN an ml.g5.2xlarge (8 vCPUs, 1 GPU) at 12 % on each vCPU: CloudWatch publishes CPUUtilization 96
    scanned = steady("ml.g5.2xlarge", cpu=96.0, gpu=5.0, memory=25.0)
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN it is one size down, and the reason shows both the published sum and the share
    assert finding.action == Action.RIGHTSIZE
    assert finding.target == "1 x ml.g5.xlarge (from ml.g5.2xlarge)"
    assert "peak CPU 96 % of 800 % = 12 % of the instance" in finding.reasons[0]
    assert "peak GPU 5 % of 100 % = 5 % of the instance" in finding.reasons[0]
    assert "about 24 % CPU" in finding.reasons[1]  # 12 % of 8 vCPUs is 24 % of 4
    assert finding.evidence["peak_cpu"] == 12.0 and finding.evidence["cpu_after"] == 24.0


def test_16_vcpu_endpoint_at_30_percent_per_core_is_not_called_busy() -> None:
    # GIVEN an ml.c5.4xlarge (16 vCPUs) at 30 % on each: CPUUtilization 480
    scanned = steady("ml.c5.4xlarge", cpu=480.0, memory=30.0)
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN it is rightsized to 8 vCPUs, where the same work is 60 % of the instance
    assert finding.action == Action.RIGHTSIZE
    assert finding.target == "1 x ml.c5.2xlarge (from ml.c5.4xlarge)"
    assert "peak CPU 480 % of 1600 % = 30 % of the instance" in finding.reasons[0]
    assert finding.evidence["cpu_after"] == 60.0


def test_a_busy_endpoint_says_its_peak_in_both_terms() -> None:
    # GIVEN two ml.r5.2xlarge (8 vCPUs; no Graviton target) at half of each vCPU: CPUUtilization 400
    finding = decide(steady("ml.r5.2xlarge", cpu=400.0, count=2), PRICES, POLICY, NOW)
    # THEN it is in use, and the verdict says 400 of 800 is half the instance
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith("in use: 33600 invocations in 14 days")
    assert finding.reasons[0].endswith("peak CPU 400 % of 800 % = 50 % of the instance")
    assert (finding.evidence["peak_cpu"], finding.evidence["peak_cpu_published"]) == (50.0, 400.0)


def test_a_multi_gpu_endpoint_is_judged_per_gpu_not_per_sum() -> None:
    # GIVEN two ml.g5.12xlarge (48 vCPUs, 4 GPUs) at 10 % per GPU (GPUUtilization 40) and 4 % per vCPU
    quiet = decide(steady("ml.g5.12xlarge", cpu=192.0, gpu=40.0, count=2), PRICES, POLICY, NOW)
    # THEN one instance is enough
    assert quiet.action == Action.RIGHTSIZE
    assert quiet.target == "1 x ml.g5.12xlarge (from 2)"
    assert "peak GPU 40 % of 400 % = 10 % of the instance" in quiet.reasons[0]
    # GIVEN the same endpoint with its GPUs at 60 % each (GPUUtilization 240) behind the same quiet CPUs
    busy = decide(steady("ml.g5.12xlarge", cpu=192.0, gpu=240.0, count=2), PRICES, POLICY, NOW)
    # THEN it is busy on its GPUs and left alone
    assert busy.action == Action.NONE
    assert "peak GPU 240 % of 400 % = 60 % of the instance" in busy.reasons[0]


def test_an_instance_type_missing_from_the_specs_is_signal_missing_never_a_guess() -> None:
    # GIVEN two ml.m4.xlarge (a real type the specs do not list) publishing CPUUtilization 20
    scanned = steady("ml.m4.xlarge", cpu=20.0, count=2)
    assert "ml.m4.xlarge" not in instance_specs()
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN nothing is proposed on a guess of its size, and the finding says why
    assert finding.action == Action.NONE
    assert finding.blocked_by == ["signal missing"]
    assert "peak CPU 20 % summed over an unknown number of vCPUs" in finding.reasons[0]
    assert any(
        reason.startswith("signal missing: ml.m4.xlarge not in the instance specs")
        for reason in finding.reasons
    )


@pytest.mark.parametrize(
    ("instance_type", "gpu"),
    [("ml.inf2.8xlarge", None), ("ml.inf2.8xlarge", 5.0), ("ml.g5.2xlarge", None)],
)
def test_an_accelerated_instance_without_a_gpu_reading_is_not_rightsized_on_cpu_alone(
    instance_type: str, gpu: float | None
) -> None:
    # GIVEN two accelerated instances at 2 % per vCPU whose accelerator load is unknown: a Neuron device
    # publishes no GPU metric (a value would have no GPU count to divide by), or a GPU reported nothing
    scanned = steady(
        instance_type, cpu=2.0 * instance_specs()[instance_type].vcpu, gpu=gpu, memory=5.0, count=2
    )
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN no instance is taken away on the CPU's word
    assert finding.action == Action.NONE
    assert any("accelerator load unknown" in reason for reason in finding.reasons)


def fleet_of(*members: ScannedEndpoint) -> list[Finding]:
    items = list(members)
    return consolidate([decide(item, PRICES, POLICY, NOW) for item in items], items, PRICES)


def test_consolidation_reads_a_cpu_sum_as_vcpus_busy() -> None:
    # GIVEN three ml.m5.large (2 vCPUs, the smallest m5) with the same image at 15 % per vCPU:
    # CPUUtilization 30 each, i.e. 0.3 vCPU busy each, 0.9 together: one host at 60 % of 2 vCPUs (1.2)
    members = [
        steady("ml.m5.large", cpu=30.0, memory=10.0, image="team/sklearn:3", name=f"small-{i}")
        for i in range(3)
    ]
    # WHEN the fleet is decided
    findings = fleet_of(*members)
    # THEN they share one host, and each reason shows its share of the instance
    assert {finding.action for finding in findings} == {Action.CONSOLIDATE}
    assert (
        findings[0].target
        == "one endpoint with inference components on 1 x ml.m5.large shared by 3 endpoints"
    )
    assert findings[0].reasons[1] == "this one: peak CPU 30 % of 200 % = 15 % of the instance"


def test_consolidation_never_splits_a_model_across_hosts() -> None:
    # GIVEN three ml.r5.2xlarge (64 GiB) with the same image, each using 45 % of its memory (28.8 GiB): their
    # 86 GiB would fill two hosts' 80 % (102 GiB) as a fluid, but no two models fit on one host
    members = [
        steady("ml.r5.2xlarge", cpu=8.0, memory=45.0, image="team/big:1", name=f"big-{i}") for i in range(3)
    ]
    # WHEN the fleet is decided
    findings = fleet_of(*members)
    # THEN nothing is consolidated
    assert Action.CONSOLIDATE not in {finding.action for finding in findings}


def test_every_gpu_count_matches_the_accelerator_it_describes() -> None:
    assert gpu_count("4x NVIDIA A10G 22.4GiB") == 4
    assert gpu_count("8x NVIDIA H100 80.0GiB") == 8
    assert gpu_count("1x AWS Inferentia2 (2 NeuronCores/device, 32.0GiB)") == 0
    assert gpu_count("") == 0
    for spec in instance_specs().values():
        assert spec.gpus == gpu_count(spec.accelerator), spec.instance_type
    assert instance_specs()["ml.g5.12xlarge"].gpus == 4
    assert instance_specs()["ml.p4d.24xlarge"].gpus == 8
    assert instance_specs()["ml.m5.large"].gpus == 0


def test_labelled_fleet_publishes_utilisation_as_aws_sums(fleet: list[Labelled]) -> None:
    from emulated_aws.labelled_fleet import HARDWARE

    for item in fleet:
        variants = {v.name: v for v in item.scanned.endpoint.variants}
        for metrics in item.scanned.metrics:
            variant = variants[metrics.variant_name]
            if variant.is_serverless:  # serverless publishes no utilisation
                assert metrics.cpu_max_percent is None
                continue
            vcpus, gpus = HARDWARE[variant.instance_type or ""]
            assert metrics.cpu_max_percent is None or metrics.cpu_max_percent <= 100 * vcpus
            assert metrics.gpu_max_percent is None or metrics.gpu_max_percent <= 100 * gpus
    sixteen = [item for item in fleet if item.archetype == "cpu16-moderate"]
    assert sixteen and all((item.scanned.metrics[0].cpu_max_percent or 0) > 400 for item in sixteen)


@pytest.mark.parametrize(
    "archetype", ["gpu-oversized-size", "cpu16-moderate", "multi-gpu-oversized-count", "trap-multi-gpu-busy",
                  "trap-unknown-instance-type"],
)  # fmt: skip
def test_multi_core_and_multi_gpu_archetypes_get_their_label(
    decided: list[tuple[Labelled, Finding]], archetype: str
) -> None:
    found = [(item, finding) for item, finding in decided if item.archetype == archetype]
    assert found
    for item, finding in found:
        assert item.agrees(finding), (item.scanned.endpoint.name, finding.reasons)


CPU_TYPES_WITH_A_SMALLER_SIBLING = [
    t for t in CPU_TYPES if any(
        o.family == instance_specs()[t].family and o.vcpu < instance_specs()[t].vcpu and not o.accelerator
        for o in instance_specs().values()
    )
]  # fmt: skip


@PROPERTY_SETTINGS
@given(
    st.sampled_from(sorted(instance_specs())),
    st.sampled_from(["cpu", "cpu_avg", "gpu", "gpu_memory", "memory"]),
    st.floats(0, 1),
)
def test_a_reading_inside_aws_range_is_never_above_100_percent_of_the_instance(
    instance_type: str, signal: str, fraction: float
) -> None:
    # GIVEN any value inside the range AWS publishes for this signal on this instance (0-100 x units)
    units = signal_units(signal, instance_type)
    if units is None:  # a GPU signal on an instance without NVIDIA GPUs has no scale
        assert signal in {"gpu", "gpu_memory"} and instance_specs()[instance_type].gpus == 0
        return
    published = fraction * 100 * units
    variant = Variant(name="AllTraffic", instance_type=instance_type, instance_count=1)
    metrics = VariantMetrics(
        variant_name="AllTraffic", window_hours=336, **{SIGNAL_FIELDS[signal]: published}
    )
    # WHEN it is put in the instance's terms
    found = reading(metrics, variant, signal)
    # THEN it is that fraction of the instance, 0-100
    assert found is not None
    assert 0 <= found.share <= 100 + 1e-9
    assert found.share == pytest.approx(fraction * 100)


@PROPERTY_SETTINGS
@given(st.sampled_from(CPU_TYPES_WITH_A_SMALLER_SIBLING), st.floats(1, 100))
def test_the_same_share_per_vcpu_gets_the_same_verdict_at_every_size(
    instance_type: str, share: float
) -> None:
    # GIVEN a steady endpoint at `share` % of each vCPU, published as the sum over its vCPUs
    spec = instance_specs()[instance_type]
    finding = decide(steady(instance_type, cpu=share * spec.vcpu, memory=5.0), PRICES, POLICY, NOW)
    smaller = max(
        (
            o
            for o in instance_specs().values()
            if o.family == spec.family and o.vcpu < spec.vcpu and not o.accelerator
        ),
        key=lambda o: o.vcpu,
    )
    after = share * spec.vcpu / smaller.vcpu
    # THEN the verdict depends on the share and the sibling's size only, never on the published sum
    if share < 35 and after <= 60 and 5.0 * spec.memory_gib / smaller.memory_gib <= 80:
        assert finding.action == Action.RIGHTSIZE, finding.reasons
        # evidence is rounded to one decimal: off by half a step at most, plus float error (1.25 -> 1.2)
        assert finding.evidence["peak_cpu"] == pytest.approx(share, abs=0.05 + 1e-6)
    else:
        assert finding.action != Action.RIGHTSIZE, finding.reasons


@PROPERTY_SETTINGS
@given(
    st.sampled_from([t for t in GPU_TYPES if instance_specs()[t].gpus]),
    st.floats(35, 100),
    st.floats(0, 10),
    st.integers(1, 4),
)
def test_busy_gpus_are_never_rightsized_whatever_the_cpu_says(
    instance_type: str, per_gpu: float, per_vcpu: float, count: int
) -> None:
    # GIVEN GPUs at least 35 % busy each behind CPUs at most 10 % busy, published as sums
    spec = instance_specs()[instance_type]
    scanned = steady(
        instance_type, cpu=per_vcpu * spec.vcpu, gpu=per_gpu * spec.gpus, memory=5.0, count=count
    )
    # THEN the endpoint is never rightsized
    assert decide(scanned, PRICES, POLICY, NOW).action != Action.RIGHTSIZE


# ---- Graviton: an arm64 image unblocks it (issue 7: the "never unblocking Graviton" mutant) ----------
@pytest.mark.parametrize(
    "image",
    [
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-graviton:2.5.1-cpu-py311",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-model:1.4-arm64",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-model:1.4-aarch64",
    ],
)
def test_an_x86_endpoint_with_an_arm64_image_gets_an_unblocked_graviton_migration(image: str) -> None:
    # GIVEN an ml.c5.xlarge (4 vCPUs) in steady use at half of each vCPU, serving an arm64 image
    scanned = steady("ml.c5.xlarge", cpu=200.0, memory=40.0, image=image)
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN the Graviton equivalent is proposed with nothing blocking it, and its savings
    assert finding.action == Action.MIGRATE_GRAVITON
    assert finding.target == "1 x ml.c7g.xlarge (from ml.c5.xlarge)"
    assert finding.blocked_by == []
    assert (finding.estimated_monthly_savings_usd or 0) > 0


def test_the_same_endpoint_with_a_custom_x86_image_is_blocked_until_it_has_an_arm64_build() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:2.5.1"
    finding = decide(steady("ml.c5.xlarge", cpu=200.0, memory=40.0, image=image), PRICES, POLICY, NOW)
    assert finding.action == Action.MIGRATE_GRAVITON
    assert finding.blocked_by == [
        f"custom image {image} has no known arm64 build: publish an arm64 or multi-architecture build "
        "of it to unblock the move"
    ]


# ---- decisions that notice change (issue 12) ------------------------------------------------------
# NOW is Monday 2026-11-30 12:00 UTC; the 14-day window runs from Monday 2026-11-16 12:00 (hour 0) to
# hour 335. Utilisation is published as AWS does: daily maxima, summed over the vCPUs and GPUs.
HOURS = 336
CAPACITY_REDUCING = {
    Action.PARK,
    Action.SCALE_TO_ZERO,
    Action.MIGRATE_SERVERLESS,
    Action.SCHEDULE,
    Action.RIGHTSIZE,
    Action.CONSOLIDATE,  # fleet-level: a finding a change holds is blocked, never a candidate
}


def with_traffic(
    calls: Callable[[int], float],
    *,
    instance_type: str = "ml.m5.large",
    count: int = 1,
    cpu: Callable[[int], float] | float = 10.0,
    gpu: float | None = None,
    memory: float = 20.0,
    age_days: float = 60.0,
    now: datetime = NOW,
    async_inference: bool = False,
) -> ScannedEndpoint:
    """An endpoint whose window hour h carried calls(h) invocations; `cpu` is its daily peak per vCPU (a
    share of the instance, constant or per window day), `gpu` per GPU."""
    from emulated_aws.labelled_fleet import _endpoint

    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)
    by_hour = [(hour, value) for hour in range(HOURS) if (value := calls(hour)) > 0]
    spec = instance_specs()[instance_type]
    per_day = cpu if callable(cpu) else (lambda day: float(cpu))
    cpu_days = [(day, round(per_day(day) * spec.vcpu, 2)) for day in range(14)]
    gpu_days = [] if gpu is None or not spec.gpus else [(day, gpu * spec.gpus) for day in range(14)]
    metrics = VariantMetrics(
        variant_name="AllTraffic",
        window_start=start,
        window_hours=HOURS,
        window_days=14,
        invocations_total=sum(value for _, value in by_hour),
        hours_with_invocations=len(by_hour),
        invocation_datapoints=len(by_hour),
        invocations_by_hour=by_hour,
        cpu_days_reported=14,
        cpu_max_percent=max(value for _, value in cpu_days),
        memory_max_percent=memory,
        gpu_max_percent=max((value for _, value in gpu_days), default=None),
        cpu_max_by_day=cpu_days,
        gpu_max_by_day=gpu_days,
        model_latency_avg_us=40_000.0 if by_hour else None,
    )
    variant = Variant(name="AllTraffic", instance_type=instance_type, instance_count=count, image="img:1")
    endpoint = _endpoint("changing", now, [variant], age_days=age_days, async_inference=async_inference)
    return ScannedEndpoint(endpoint=endpoint, metrics=[metrics])


def is_business_hour(start: datetime, hour: int) -> bool:
    moment = start + timedelta(hours=hour)
    return moment.weekday() < 5 and 8 <= moment.hour < 18


def proposes_capacity_cut(finding: Finding) -> bool:
    """A move that takes capacity away, unblocked (blocked advice is not a move)."""
    return finding.action in CAPACITY_REDUCING and not finding.blocked_by


def test_the_rungs_that_take_capacity_away_are_the_ones_a_change_holds() -> None:
    assert {rung.action for rung in LADDER if rung.reduces_capacity} == CAPACITY_REDUCING


def test_idle_for_13_days_then_busy_since_yesterday_is_not_moved_to_serverless() -> None:
    # GIVEN an ml.m5.large with no invocations for 13 days, then 1,800 an hour from 2026-11-29 16:00 (the last
    # 20 hours): 20 of 336 hours, which the window's shares alone read as "sporadic"
    started = with_traffic(lambda hour: 1800.0 if hour >= 316 else 0.0)
    # WHEN the ladder decides
    finding = decide(started, PRICES, POLICY, NOW)
    # THEN nothing is taken away, and the finding says what changed, when, and until when it waits
    assert finding.action == Action.NONE
    assert finding.blocked_by == ["traffic changed"]
    assert finding.reasons[0] == (
        "traffic started 2026-11-29 16:00: 1,800 an hour since (traffic in 20 of 20 hours), after 13.2 days "
        "without any; waiting 7 days before judging (until 2026-12-06 16:00)"
    )
    assert finding.evidence["change"] == "started"
    assert finding.evidence["changed_at"] == "2026-11-29T16:00:00+00:00"
    # AND the same 20 hours spread over the fortnight are sporadic: serverless (the change made the difference)
    spread = with_traffic(lambda hour: 1800.0 if hour % 17 == 0 else 0.0)
    assert decide(spread, PRICES, POLICY, NOW).action == Action.MIGRATE_SERVERLESS


def test_a_smoke_test_call_days_before_does_not_hide_a_start() -> None:
    # GIVEN one invocation on day 2 (a smoke test), nothing until 3 days ago, then traffic every hour
    finding = decide(
        with_traffic(lambda hour: 1.0 if hour == 50 else (300.0 if hour >= 264 else 0.0), count=3),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN the start is still seen, from its first hour
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith("traffic started 2026-11-27 12:00: 300 an hour since")


def test_a_start_older_than_a_week_is_judged_on_the_traffic_since_it_started() -> None:
    # GIVEN four ml.c5.xlarge, quiet for 6 days, then 300 an hour for 8 days at 10 % of each vCPU
    finding = decide(
        with_traffic(
            lambda hour: 300.0 if hour >= 144 else 0.0,
            instance_type="ml.c5.xlarge",
            count=4,
            cpu=lambda day: 10.0 if day >= 6 else 1.0,
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN the new pattern has lasted long enough: it is judged on itself, and one instance is enough
    assert finding.action == Action.RIGHTSIZE
    assert finding.blocked_by == []
    assert (
        "traffic started 2026-11-22 12:00: 300 an hour since (traffic in 192 of 192 hours), after 6.0 days "
        "without any; judged on the 8.0 days since it started"
    ) in finding.reasons


def test_business_hours_that_started_ten_days_ago_are_not_yet_a_weekly_pattern() -> None:
    # GIVEN three busy instances idle for 4 days, then weekday business-hours traffic for 10 days
    start = NOW - timedelta(hours=HOURS)
    finding = decide(
        with_traffic(
            lambda hour: 120.0 if hour >= 96 and is_business_hour(start, hour) else 0.0,
            instance_type="ml.c5.xlarge",
            count=3,
            cpu=50.0,
            memory=70.0,
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN it is judged on the 10 days since, one full week: no schedule yet, and why
    assert finding.action == Action.SCHEDULE
    assert finding.blocked_by == [
        "window too short: needs 14 days: weekday business hours are a weekly pattern, named only after 2 "
        "full weeks; 10.0 days observed"
    ]


def test_an_endpoint_that_went_quiet_two_days_ago_is_not_idle_and_keeps_its_capacity() -> None:
    # GIVEN three lightly used instances with 1,800 invocations every hour until two days ago, none since
    finding = decide(
        with_traffic(
            lambda hour: 1800.0 if hour < 288 else 0.0, instance_type="ml.c5.xlarge", count=3, cpu=8.0
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN it is neither parked nor cut: the stop is named, and when it could be called idle
    assert finding.action == Action.NONE
    assert finding.blocked_by == ["traffic changed"]
    assert finding.reasons[0] == (
        "traffic stopped 2026-11-28 12:00: no invocations for 2.0 days (48 hours), 48 of which had traffic at "
        "the same hour a week earlier; in the week before it stopped, 302,400 invocations in 168 of 168 "
        "hours; not idle until the whole 14-day look-back is quiet (from 2026-12-12 12:00), and no capacity "
        "is cut on the traffic from before the stop"
    )


def test_two_busy_days_then_twelve_quiet_ones_are_a_stop_not_sporadic_traffic() -> None:
    # GIVEN one ml.m5.large busy on the window's first two days only: 48 of 336 hours ("sporadic" by share)
    finding = decide(with_traffic(lambda hour: 1800.0 if hour < 48 else 0.0), PRICES, POLICY, NOW)
    # THEN it is a stop, not a candidate for serverless
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith("traffic stopped 2026-11-18 12:00: no invocations for 12.0 days")


def test_the_same_endpoint_is_parked_once_the_whole_look_back_is_quiet() -> None:
    finding = decide(with_traffic(lambda hour: 0.0), PRICES, POLICY, NOW)
    assert finding.action == Action.PARK


@pytest.mark.parametrize(
    ("now", "what"),
    [
        (datetime(2026, 11, 29, 12, tzinfo=UTC), "Sunday noon: the weekend is as quiet as the last one"),
        (datetime(2026, 11, 30, 10, tzinfo=UTC), "Monday 10:00: traffic resumed as it did a week ago"),
    ],
)
def test_a_business_hours_endpoint_at_the_weekend_or_on_monday_morning_has_not_changed(
    now: datetime, what: str
) -> None:
    # GIVEN three instances with weekday business-hours traffic all window long
    start = now - timedelta(hours=HOURS)
    scanned = with_traffic(
        lambda hour: 120.0 if is_business_hour(start, hour) else 0.0,
        instance_type="ml.c5.xlarge",
        count=3,
        cpu=50.0,
        memory=70.0,
        now=now,
    )
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, now)
    # THEN no change is seen and the weekly pattern (two full weeks) gets its schedule
    assert finding.action == Action.SCHEDULE, (what, finding.reasons)
    assert finding.blocked_by == []


def test_a_business_hours_endpoint_silent_since_wednesday_has_stopped() -> None:
    # GIVEN weekday business-hours traffic until Wednesday 2026-11-25 18:00, none since (Thursday, Friday,
    # Monday morning missed: 24 business hours)
    start = NOW - timedelta(hours=HOURS)
    finding = decide(
        with_traffic(
            lambda hour: 120.0 if hour < 222 and is_business_hour(start, hour) else 0.0,
            instance_type="ml.c5.xlarge",
            count=3,
            cpu=50.0,
            memory=70.0,
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN the schedule is not proposed on the old pattern
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith(
        "traffic stopped 2026-11-25 18:00: no invocations for 4.8 days (114 hours), 24 of which had traffic"
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (200.0, 2000.0, "traffic rose 10x from 2026-11-27 12:00: a median hour of 2,000 invocations since, "),
        (2000.0, 200.0, "traffic fell 10x from 2026-11-27 12:00: a median hour of 200 invocations since, "),
    ],
)
def test_traffic_that_moved_tenfold_three_days_ago_keeps_its_capacity(
    before: float, after: float, expected: str
) -> None:
    # GIVEN three instances at 20 % per vCPU (one would do), whose hourly traffic moved 10x three days ago
    finding = decide(
        with_traffic(
            lambda hour: before if hour < 264 else after, instance_type="ml.c5.xlarge", count=3, cpu=20.0
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN no instance is taken away until the new level has lasted a week
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith(expected)
    assert finding.reasons[0].endswith("waiting 7 days before judging (until 2026-12-04 12:00)")


def test_steady_traffic_whose_cpu_keeps_rising_keeps_its_capacity() -> None:
    # GIVEN steady traffic on three ml.c5.xlarge whose daily CPU peak rose from 5 % to 25 % per vCPU
    finding = decide(
        with_traffic(
            lambda hour: 500.0, instance_type="ml.c5.xlarge", count=3, cpu=lambda day: 5.0 + 20.0 * day / 13
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN the window's peak (25 %, "one instance would do") is not trusted while it rises
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith(
        "utilisation rising: peak CPU 100 % of 400 % = 25 % of the instance on variant AllTraffic in the last "
        "7 days against 14 % of the instance in the 7 days before"
    )


def test_an_idle_endpoint_is_parked_whatever_its_cpu_does() -> None:
    # GIVEN no invocations at all while CPU rose to 30 % on the last days (an agent, a background job)
    finding = decide(
        with_traffic(lambda hour: 0.0, cpu=lambda day: 30.0 if day >= 12 else 1.0), PRICES, POLICY, NOW
    )
    # THEN nobody calls it: idle is about invocations, so it is parked
    assert finding.action == Action.PARK


def weekly_job(start: datetime, begin: int = 0) -> Callable[[int], float]:
    """60 invocations an hour every Sunday 01:00-05:00 UTC, from window hour `begin` on."""

    def calls(hour: int) -> float:
        moment = start + timedelta(hours=hour)
        return 60.0 if hour >= begin and moment.weekday() == 6 and 1 <= moment.hour < 5 else 0.0

    return calls


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2026, 11, 29, 5, tzinfo=UTC)],
    ids=["monday-noon", "sunday-05:00-right-after-a-run"],
)
def test_a_weekly_job_seen_twice_in_14_days_is_judged_sporadic(now: datetime) -> None:
    # GIVEN a light job every Sunday 01:00-05:00; seen right after a run, its last four hours hold all the
    # traffic since the week before, which would look like a start were the same hours a week earlier not
    # compared
    finding = decide(with_traffic(weekly_job(now - timedelta(hours=HOURS)), now=now), PRICES, POLICY, now)
    # THEN two runs in the window are a pattern: sporadic, judged as such
    assert finding.action == Action.MIGRATE_SERVERLESS, finding.reasons
    assert finding.blocked_by == []


def test_a_nightly_job_that_began_three_nights_ago_after_days_of_nothing_is_a_start() -> None:
    # GIVEN nothing for 11 days, then one hour of calls at 02:00 on each of the last three nights: too few
    # hours to rule chance out by their number, but a quiet week followed by a rhythm of 23-hour pauses
    finding = decide(
        with_traffic(lambda hour: 900.0 if hour >= 264 and hour % 24 == 14 else 0.0), PRICES, POLICY, NOW
    )
    # THEN it is a new pattern, not sporadic traffic for serverless
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith(
        "traffic started 2026-11-28 02:00: 47 an hour since (traffic in 3 of 58 hours)"
    )


def test_traffic_that_keeps_growing_keeps_its_capacity() -> None:
    # GIVEN three ml.c5.xlarge at 10 % per vCPU whose hourly traffic grew from 100 to 1,000 over the window
    finding = decide(
        with_traffic(lambda hour: 100.0 + 900.0 * hour / HOURS, instance_type="ml.c5.xlarge", count=3),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN no instance is taken away while it grows
    assert finding.action == Action.NONE
    assert finding.reasons[0].startswith(
        "traffic growing: a median hour of 774 invocations in the last 7 days, 2.4 times the 324 of the 7 days "
        "before; no capacity is cut while it grows 1.5x or more"
    )


def test_a_weekly_job_seen_once_is_window_too_short_and_names_the_look_back_it_needs() -> None:
    # GIVEN the same job on an endpoint created 7.5 days ago: its only run in view is Sunday 2026-11-29
    scanned = with_traffic(weekly_job(NOW - timedelta(hours=HOURS), begin=HOURS - 180), age_days=7.5)
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN serverless is advice only: one run cannot tell a weekly job from a one-off
    assert finding.action == Action.MIGRATE_SERVERLESS
    assert finding.blocked_by == [
        "window too short: needs 14 days: traffic came in one burst (2026-11-29 01:00 to 2026-11-29 05:00) in "
        "the 7.5 days observed; whether and how often it recurs cannot be told, and a weekly job shows 2 runs "
        "only in 14 days"
    ]


def test_a_job_seen_once_in_14_days_needs_a_longer_look_back_than_a_week() -> None:
    # GIVEN one 4-hour run on day 4 of a 14-day window, nothing else
    finding = decide(with_traffic(lambda hour: 60.0 if 100 <= hour < 104 else 0.0), PRICES, POLICY, NOW)
    # THEN a job that did not recur within 14 days would be monthly or rarer: 62 days to see it twice
    assert finding.action == Action.MIGRATE_SERVERLESS
    assert finding.blocked_by[0].startswith("window too short: needs 62 days: traffic came in one burst")
    assert finding.blocked_by[0].endswith("a monthly job shows 2 runs only in 62 days")


def test_a_peak_seen_in_one_burst_is_not_a_reason_to_rightsize() -> None:
    # GIVEN three ml.m5.2xlarge (32 GiB, 30 % in use: too big for serverless) at 5 % per vCPU whose only
    # traffic was six hours on day 4
    finding = decide(
        with_traffic(
            lambda hour: 500.0 if 100 <= hour < 106 else 0.0,
            instance_type="ml.m5.2xlarge",
            count=3,
            cpu=5.0,
            memory=30.0,
        ),
        PRICES,
        POLICY,
        NOW,
    )
    # THEN rightsizing is advice only: one event's peak is not the endpoint's
    assert finding.action == Action.RIGHTSIZE
    assert finding.blocked_by[0].startswith("window too short: needs 62 days")


def test_a_young_business_hours_endpoint_is_window_too_short_for_a_schedule() -> None:
    # GIVEN three instances created 10 days ago with weekday business-hours traffic since
    start = NOW - timedelta(hours=HOURS)
    finding = decide(
        with_traffic(
            lambda hour: 120.0 if hour >= 96 and is_business_hour(start, hour) else 0.0,
            instance_type="ml.c5.xlarge",
            count=3,
            cpu=50.0,
            memory=70.0,
            age_days=10.0,
        ),
        PRICES,
        POLICY,
        NOW,
    )
    assert finding.action == Action.SCHEDULE
    assert finding.blocked_by == [
        "window too short: needs 14 days: weekday business hours are a weekly pattern, named only after 2 "
        "full weeks; 10.0 days observed"
    ]


def test_the_scanner_keeps_each_days_utilisation_peak() -> None:
    from endpoint_optimizer.scan.metrics import _Series, _summarise

    # GIVEN GetMetricData's daily CPUUtilization maxima (published sums) for three days, one repeated
    start = NOW - timedelta(days=3)
    day = timedelta(days=1)
    cpu = _Series([start, start + day, start + day, start + 2 * day], [40.0, 90.0, 120.0, 60.0])
    gpu = _Series([start + 2 * day], [30.0])
    # WHEN the variant's signal is summarised
    metrics = _summarise("AllTraffic", "variant", {"cpu_max": cpu, "gpu_max": gpu}, start=start, end=NOW)
    # THEN each day keeps its highest value, and the window's peak is the highest day
    assert metrics.cpu_max_by_day == [(0, 40.0), (1, 120.0), (2, 60.0)]
    assert metrics.gpu_max_by_day == [(2, 30.0)]
    assert metrics.cpu_max_percent == 120.0


# ---- properties: a recent start, a stop or a ramp never yields a capacity-reducing move ---------------
PATTERNS = ("every hour", "business hours", "nightly job", "most hours")


def pattern(kind: str, start: datetime, seed: int) -> Callable[[int], bool]:
    """Whether window hour h carries traffic, for a pattern that repeats every week."""
    night_hours = 2 + seed % 3  # a nightly job of 2 to 4 hours from 01:00
    busy = random.Random(seed)
    most = {hour for hour in range(168) if busy.random() < 0.5 + (seed % 50) / 100}

    def active(hour: int) -> bool:
        moment = start + timedelta(hours=hour)
        if kind == "every hour":
            return True
        if kind == "business hours":
            return moment.weekday() < 5 and 8 <= moment.hour < 18
        if kind == "nightly job":
            return 1 <= moment.hour < 1 + night_hours
        return hour % 168 in most

    return active


@st.composite
def endpoints_around(draw: st.DrawFn) -> dict[str, object]:
    """What every property draws: the instance, its use of it, and a traffic pattern."""
    instance_type = draw(st.sampled_from(CPU_TYPES + GPU_TYPES))
    return {
        "instance_type": instance_type,
        "count": draw(st.integers(1, 6)),
        "cpu_share": draw(st.floats(1, 34)),
        "gpu": draw(st.floats(1, 34)) if instance_specs()[instance_type].gpus else None,
        "memory": draw(st.floats(1, 40)),
        "async_inference": draw(st.booleans()),
        "kind": draw(st.sampled_from(PATTERNS)),
        "level": draw(st.floats(0.5, 5000)),
        "seed": draw(st.integers(0, 10_000)),
        "now": NOW + timedelta(hours=draw(st.integers(0, 167))),  # any hour of the week
    }


def build(
    drawn: dict[str, object], calls: Callable[[int], float], cpu: Callable[[int], float]
) -> ScannedEndpoint:
    gpu = drawn["gpu"]
    return with_traffic(
        calls,
        instance_type=str(drawn["instance_type"]),
        count=int(str(drawn["count"])),
        cpu=cpu,
        gpu=float(str(gpu)) if gpu is not None else None,
        memory=float(str(drawn["memory"])),
        now=drawn["now"],  # type: ignore[arg-type]
        async_inference=bool(drawn["async_inference"]),
    )


@PROPERTY_SETTINGS
@given(endpoints_around(), st.integers(1, 167))
def test_a_recent_start_never_yields_a_capacity_reducing_move(
    drawn: dict[str, object], hours_ago: int
) -> None:
    # GIVEN an endpoint with no traffic for at least a week, then a pattern that began `hours_ago` hours ago
    now: datetime = drawn["now"]  # type: ignore[assignment]
    start = now.replace(minute=0) - timedelta(hours=HOURS)
    active = pattern(str(drawn["kind"]), start, int(str(drawn["seed"])))
    onset, level, share = HOURS - hours_ago, float(str(drawn["level"])), float(str(drawn["cpu_share"]))
    assume(any(active(hour) for hour in range(onset, HOURS)))  # it has begun: traffic in one hour at least
    scanned = build(
        drawn,
        lambda hour: level if hour >= onset and active(hour) else 0.0,
        lambda day: share if (day + 1) * 24 > onset else 1.0,
    )
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, now)
    # THEN nothing is taken away
    assert not proposes_capacity_cut(finding), finding.reasons


@PROPERTY_SETTINGS
@given(endpoints_around(), st.integers(1, 167))
def test_a_recent_stop_never_yields_a_capacity_reducing_move(
    drawn: dict[str, object], quiet_hours: int
) -> None:
    # GIVEN a pattern that ran until `quiet_hours` ago (under a week) and nothing since, once the silence
    # covers 14 hours the pattern would have carried (a stop can only be seen by the traffic it misses)
    now: datetime = drawn["now"]  # type: ignore[assignment]
    start = now.replace(minute=0) - timedelta(hours=HOURS)
    active = pattern(str(drawn["kind"]), start, int(str(drawn["seed"])))
    stop, level, share = HOURS - quiet_hours, float(str(drawn["level"])), float(str(drawn["cpu_share"]))
    assume(sum(active(hour) for hour in range(stop, HOURS)) >= 14)
    scanned = build(
        drawn,
        lambda hour: level if hour < stop and active(hour) else 0.0,
        lambda day: share if day * 24 < stop else 1.0,
    )
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, now)
    # THEN it is not called idle and nothing is cut on the traffic from before the stop
    assert not proposes_capacity_cut(finding), finding.reasons


@PROPERTY_SETTINGS
@given(endpoints_around(), st.floats(1.7, 10))
def test_a_ramp_never_yields_a_capacity_reducing_move(drawn: dict[str, object], weekly_growth: float) -> None:
    # GIVEN a pattern whose traffic and CPU grow `weekly_growth` times a week (hour to hour noise of 10 %),
    # its CPU peak at the end of the window under "low" (35 %)
    now: datetime = drawn["now"]  # type: ignore[assignment]
    start = now.replace(minute=0) - timedelta(hours=HOURS)
    seed = int(str(drawn["seed"]))
    active = pattern(str(drawn["kind"]), start, seed)
    noise = random.Random(seed)
    level, share = float(str(drawn["level"])), float(str(drawn["cpu_share"]))
    hourly = [
        level * weekly_growth ** ((hour - HOURS) / 168) * noise.uniform(0.9, 1.1) if active(hour) else 0.0
        for hour in range(HOURS)
    ]
    scanned = build(drawn, lambda hour: hourly[hour], lambda day: share * weekly_growth ** ((day - 13) / 7))
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, now)
    # THEN no capacity is taken away while it grows
    assert not proposes_capacity_cut(finding), finding.reasons


def test_a_recent_start_still_gets_advice_that_keeps_its_capacity() -> None:
    # GIVEN the endpoint of the issue (traffic for the last 20 hours only) serving an arm64 image on x86
    started = with_traffic(lambda hour: 1800.0 if hour >= 316 else 0.0, instance_type="ml.c5.xlarge")
    variant = started.endpoint.variants[0].model_copy(update={"image": "team/model:1.0-arm64"})
    scanned = started.model_copy(
        update={"endpoint": started.endpoint.model_copy(update={"variants": [variant]})}
    )
    # WHEN the ladder decides
    finding = decide(scanned, PRICES, POLICY, NOW)
    # THEN Graviton (the same vCPUs and memory) is still proposed, and says what changed
    assert finding.action == Action.MIGRATE_GRAVITON
    assert finding.blocked_by == []
    assert any(reason.startswith("traffic started 2026-11-29 16:00") for reason in finding.reasons)
