"""Graviton, really: one notion of an image's arm64 build, targets only from the valid real-time list, and
prices an offline plan can read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from endpoint_optimizer.decide.confirm.candidates import blockers_a_benchmark_clears
from endpoint_optimizer.decide.confirm.images import (
    NO_KNOWN_ARM64_BUILD,
    arm64_image_of,
    container_config_for,
    no_arm64_build_reason,
)
from endpoint_optimizer.decide.ladder import decide
from endpoint_optimizer.decide.pricing import HostingPrice, PriceBook, bundled_price_book
from endpoint_optimizer.decide.rules.graviton import graviton_targets
from endpoint_optimizer.decide.signals import instance_specs
from endpoint_optimizer.decide.thresholds import GRAVITON_REALTIME_SIZES
from endpoint_optimizer.models import Action
from tests.unit.decide.test_confirm_images_and_candidates import production_variant_instance_types
from tests.unit.decide.test_ladder import POLICY, steady

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
DLC_TOKYO = "763104351884.dkr.ecr.ap-northeast-1.amazonaws.com"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn"
ISSUE_IMAGE = f"{DLC}/pytorch-inference:2.1.0-cpu-py310"  # issue 10: 100 moves blocked on this image
CUSTOM = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:3.1"


# ---- arm64_image_of: the one notion of "has an arm64 build" ------------------------------------------
@pytest.mark.parametrize(
    ("image", "arm64_image"),
    [
        (ISSUE_IMAGE, f"{DLC}/pytorch-inference-graviton:2.1.0-cpu-py310-ubuntu20.04-sagemaker"),
        (
            f"{DLC_TOKYO}/pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker",
            f"{DLC_TOKYO}/pytorch-inference-arm64:2.6.0-cpu-py312-ubuntu22.04-sagemaker",
        ),
        (
            f"{DLC}/tensorflow-inference:2.16.1-cpu-py310-ubuntu20.04-sagemaker",
            f"{DLC}/tensorflow-inference-graviton:2.16.1-cpu-py310-ubuntu20.04-sagemaker",
        ),
        (f"{XGBOOST}:1.3-1", f"{XGBOOST}:1.3-1-arm64"),
        (f"{SKLEARN}:1.0-1-cpu-py3", f"{SKLEARN}:1.0-1-arm64-cpu-py3"),
    ],
)
def test_a_known_x86_image_maps_to_its_arm64_build_in_the_same_registry(image: str, arm64_image: str) -> None:
    # GIVEN an x86 AWS image whose arm64 build AWS publishes  WHEN its arm64 build is asked for
    # THEN it is that build, in the image's own registry and region
    assert arm64_image_of(image) == arm64_image


@pytest.mark.parametrize(
    "image",
    [
        f"{DLC}/pytorch-inference-graviton:2.4.0-cpu-py311-ubuntu22.04-sagemaker",
        f"{DLC}/pytorch-inference-arm64:2.6.0-cpu-py312-ubuntu22.04-sagemaker",
        f"{XGBOOST}:1.5-1-arm64",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-model:1.4-aarch64",
    ],
)
def test_an_arm64_build_is_its_own_arm64_image(image: str) -> None:
    assert arm64_image_of(image) == image
    facts = container_config_for(image, {"endpoint-optimizer:framework": "PYTORCH"})
    assert facts is not None and facts.is_arm64 and facts.arm64_image == image


@pytest.mark.parametrize(
    "image",
    [
        f"{DLC}/pytorch-inference:2.1.0-gpu-py310-cu118-ubuntu20.04-sagemaker",  # Graviton has no GPU
        f"{DLC}/pytorch-inference:1.13.1-cpu-py39",  # no arm64 build of that version is known
        f"{XGBOOST}:1.7-1",
        CUSTOM,
        "my-team/image",
        None,
    ],
)
def test_other_images_have_no_known_arm64_build_and_the_reason_says_so(image: str | None) -> None:
    assert arm64_image_of(image) is None
    assert NO_KNOWN_ARM64_BUILD in no_arm64_build_reason(image)


def test_the_confirm_package_benchmarks_the_same_arm64_build_the_rung_deploys() -> None:
    facts = container_config_for(ISSUE_IMAGE)
    assert facts is not None and facts.arm64_image == arm64_image_of(ISSUE_IMAGE)


# ---- the rung -------------------------------------------------------------------------------------
def test_the_issue_s_pytorch_endpoint_gets_an_unblocked_move_that_names_the_arm64_image() -> None:
    """GIVEN an ml.c5.xlarge at half of each vCPU serving pytorch-inference:2.1.0-cpu-py310 (x86)
    WHEN the ladder decides on the bundled price book
    THEN the Graviton move is not blocked: its reasons and evidence name the arm64 build it deploys."""
    finding = decide(steady("ml.c5.xlarge", cpu=200.0, image=ISSUE_IMAGE), bundled_price_book(), POLICY, NOW)
    arm64_image = f"{DLC}/pytorch-inference-graviton:2.1.0-cpu-py310-ubuntu20.04-sagemaker"
    assert finding.action == Action.MIGRATE_GRAVITON
    assert finding.blocked_by == []
    assert finding.evidence["arm64_image"] == arm64_image
    assert f"deploys {arm64_image}, the arm64 build of {ISSUE_IMAGE}" in finding.reasons


def test_a_custom_image_is_blocked_with_the_exact_reason_and_confirming_cannot_clear_it() -> None:
    """GIVEN the same endpoint serving a private image nobody is known to build for arm64
    WHEN the ladder decides THEN the move is blocked, naming the image and what would unblock it; a
    benchmark cannot clear it (there is no arm64 build to benchmark)."""
    finding = decide(steady("ml.c5.xlarge", cpu=200.0, image=CUSTOM), bundled_price_book(), POLICY, NOW)
    assert finding.action == Action.MIGRATE_GRAVITON
    assert finding.blocked_by == [
        f"custom image {CUSTOM} has no known arm64 build: publish an arm64 or multi-architecture build "
        "of it to unblock the move"
    ]
    assert finding.evidence["arm64_image"] is None
    assert blockers_a_benchmark_clears(finding) == []


def book(**hourly: float) -> PriceBook:
    """us-east-1 prices by type, `ml_c5_xlarge=0.204` for ml.c5.xlarge."""
    prices = {
        ("us-east-1", name.replace("_", ".")): HostingPrice(
            "us-east-1", name.replace("_", "."), usd, "test price", "2026-12-01"
        )
        for name, usd in hourly.items()
    }
    return PriceBook(prices)


def test_a_priced_graviton_type_is_preferred_so_the_plan_can_say_what_it_saves() -> None:
    # GIVEN ml.c5.xlarge priced, and of its Graviton equivalents only ml.c6g.xlarge (ml.c7g.xlarge is not)
    prices = book(ml_c5_xlarge=0.204, ml_c6g_xlarge=0.1632)
    finding = decide(steady("ml.c5.xlarge", cpu=200.0, image=ISSUE_IMAGE), prices, POLICY, NOW)
    # THEN the move is to the priced one, with its savings: (0.204 - 0.1632) x 730 h
    assert finding.target == "1 x ml.c6g.xlarge (from ml.c5.xlarge)"
    assert finding.estimated_monthly_savings_usd == pytest.approx(29.78)


def test_without_any_graviton_price_the_move_says_its_price_is_unknown_never_a_guess() -> None:
    # GIVEN only today's type priced  WHEN the ladder decides
    finding = decide(
        steady("ml.c5.xlarge", cpu=200.0, image=ISSUE_IMAGE), book(ml_c5_xlarge=0.204), POLICY, NOW
    )
    # THEN the preferred valid type, no savings figure, low confidence, and the price "unknown"
    assert finding.target == "1 x ml.c7g.xlarge (from ml.c5.xlarge)"
    assert finding.estimated_monthly_savings_usd is None
    assert finding.confidence == "low"
    assert "price per hour 0.204 -> unknown USD" in finding.reasons


# ---- valid targets only, and priced where the public price points allow -----------------------------
def x86_cpu_types() -> list[str]:
    return [
        spec.instance_type
        for spec in instance_specs().values()
        if spec.architecture == "x86_64" and not spec.accelerated
    ]


def test_every_graviton_type_the_rung_can_propose_is_a_valid_real_time_type_with_specs() -> None:
    """GIVEN every x86 CPU type of the instance specs  WHEN the rung lists its Graviton targets
    THEN each is in the botocore ProductionVariantInstanceType enum and the real-time Graviton list, and
    is arm64 in the specs; never ml.m7g, ml.r7g, ml.c7gn or ml.t4g."""
    enum = production_variant_instance_types()
    proposed = {t for name in x86_cpu_types() for t in graviton_targets(instance_specs()[name])}
    assert proposed, "no x86 type has a Graviton target"
    for target in proposed:
        family, _, size = target.rpartition(".")
        assert target in enum and size in GRAVITON_REALTIME_SIZES[family], target
        assert instance_specs()[target].architecture == "arm64"
        assert not target.startswith(("ml.m7g.", "ml.r7g.", "ml.c7gn.", "ml.t4g."))


def test_the_valid_graviton_list_is_exactly_the_botocore_model_s() -> None:
    """The Graviton families of the enum (ml.<letter><generation>g[d|n]) are the list, size for size."""
    graviton = re.compile(r"^ml\.[a-z]+[0-9]+g[a-z]*\.")
    in_model = {t for t in production_variant_instance_types() if graviton.match(t)}
    listed = {f"{family}.{size}" for family, sizes in GRAVITON_REALTIME_SIZES.items() for size in sizes}
    assert listed == in_model, (sorted(listed - in_model), sorted(in_model - listed))


def test_the_bundled_graviton_prices_carry_their_source_and_date_and_price_what_they_can() -> None:
    """GIVEN the bundled price book (no live prices)  WHEN every x86 CPU type's Graviton move is listed
    THEN each bundled Graviton price names its source and date, and the types priced offline are exactly
    those the public price points hold: ml.c6g.large in us-east-1 and ap-northeast-1 (read 2026-12-01:
    no other Graviton type has a price there, so its moves say "unknown")."""
    bundled = bundled_price_book()
    regions = {region for region, _ in bundled.prices}
    proposed = {t for name in x86_cpu_types() for t in graviton_targets(instance_specs()[name])}
    priced = {(region, t) for region in regions for t in proposed if bundled.hourly(region, t)}
    assert priced == {("us-east-1", "ml.c6g.large"), ("ap-northeast-1", "ml.c6g.large")}
    for region, target in priced:
        price = bundled.hourly(region, target)
        assert price is not None and price.source and re.match(r"\d{4}-\d{2}-\d{2}", price.source_date)
