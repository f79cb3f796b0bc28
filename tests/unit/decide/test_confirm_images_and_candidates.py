"""What a job is told about the container, and what it benchmarks for each kind of move."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from endpoint_optimizer.decide.confirm import candidates_for, container_config_for, unknown_container_how_to
from endpoint_optimizer.decide.confirm.candidates import (
    GRAVITON_REALTIME_SIZES,
    instant_instance_types,
    narrowed_by_instant,
)
from endpoint_optimizer.decide.confirm.thresholds import (
    FRAMEWORK_TAG,
    FRAMEWORK_VERSION_TAG,
    MAX_ENDPOINT_CONFIGURATIONS,
)
from endpoint_optimizer.decide.signals import instance_specs
from endpoint_optimizer.models import Action
from tests.unit.decide.confirm_samples import finding


def production_variant_instance_types() -> set[str]:
    """The instance types SageMaker hosting takes (the botocore model's enum)."""
    shape: Any = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .shape_for("ProductionVariantInstanceType")
    )
    return set(shape.enum)


DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost"


@pytest.mark.parametrize(
    ("image", "framework", "version", "arm64_image"),
    [
        (
            f"{DLC}/pytorch-inference:2.5.1-cpu-py311",
            "PYTORCH",
            "2.5.1",
            f"{DLC}/pytorch-inference-arm64:2.5.1-cpu-py311-ubuntu22.04-sagemaker",
        ),
        (
            f"{DLC}/pytorch-inference:2.4.0-cpu-py311-ubuntu22.04-sagemaker",
            "PYTORCH",
            "2.4.0",
            f"{DLC}/pytorch-inference-graviton:2.4.0-cpu-py311-ubuntu22.04-sagemaker",
        ),
        (f"{DLC}/pytorch-inference:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker", "PYTORCH", "2.3.0", None),
        (f"{XGBOOST}:1.5-1", "XGBOOST", "1.5-1", f"{XGBOOST}:1.5-1-arm64"),
        (f"{XGBOOST}:1.7-1", "XGBOOST", "1.7-1", None),
        (
            f"{DLC}/tensorflow-inference:2.16.1-cpu-py310-ubuntu20.04-sagemaker",
            "TENSORFLOW",
            "2.16.1",
            f"{DLC}/tensorflow-inference-graviton:2.16.1-cpu-py310-ubuntu20.04-sagemaker",
        ),
    ],
)
def test_known_images_name_their_framework_version_and_arm64_build(
    image: str, framework: str, version: str, arm64_image: str | None
) -> None:
    """GIVEN an AWS framework image
    WHEN its container facts are read
    THEN the framework and version are the image's, and the arm64 build is the sourced one (none for a
    GPU image or a version without a known arm64 tag)."""
    facts = container_config_for(image)
    assert facts is not None
    assert (facts.framework, facts.framework_version, facts.arm64_image) == (framework, version, arm64_image)


def test_an_arm64_image_is_its_own_arm64_build() -> None:
    """GIVEN a pytorch-inference-graviton image
    WHEN its facts are read
    THEN it is arm64 and benchmarks Graviton as it is."""
    image = f"{DLC}/pytorch-inference-graviton:2.5.1-cpu-py311"
    facts = container_config_for(image)
    assert facts is not None and facts.is_arm64 and facts.arm64_image == image


def test_an_unknown_image_needs_tags_and_the_how_to_names_them() -> None:
    """GIVEN a team's own image
    WHEN its facts are read without tags, then with the framework tags
    THEN first there are none and the how-to names both tags; then the tags describe it."""
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/team-sklearn-serving:3.2"
    assert container_config_for(image) is None
    how_to = unknown_container_how_to(image)
    assert FRAMEWORK_TAG in how_to and FRAMEWORK_VERSION_TAG in how_to
    tagged = container_config_for(
        image, {FRAMEWORK_TAG: "sagemaker-scikit-learn", FRAMEWORK_VERSION_TAG: "1.2-1"}
    )
    assert tagged is not None
    assert (tagged.framework, tagged.framework_version, tagged.source) == (
        "SAGEMAKER-SCIKIT-LEARN",
        "1.2-1",
        "tags",
    )


def test_a_tag_with_a_value_ir_does_not_take_is_ignored() -> None:
    """GIVEN an unknown image tagged with a framework IR does not know
    WHEN its facts are read
    THEN there are none (the finding then says what to tag)."""
    assert container_config_for("example.com/model:1", {FRAMEWORK_TAG: "JAX"}) is None


def test_rightsize_benchmarks_today_s_type_and_the_smaller_sizes_of_its_family() -> None:
    """GIVEN a rightsize of ml.c5.4xlarge
    WHEN its candidates are listed
    THEN today's type comes first, then the smaller c5 sizes largest first."""
    types = [
        c.instance_type for c in candidates_for(finding(Action.RIGHTSIZE, instance_type="ml.c5.4xlarge"))
    ]
    assert types == ["ml.c5.4xlarge", "ml.c5.2xlarge", "ml.c5.xlarge", "ml.c5.large"]


def test_graviton_benchmarks_the_rung_s_target_and_only_valid_real_time_graviton_types() -> None:
    """GIVEN a Graviton move of ml.m5.xlarge whose rung chose ml.m6g.xlarge
    WHEN its candidates are listed
    THEN the rung's target follows today's type, every candidate is in the botocore model's
    ProductionVariantInstanceType enum (no ml.m7g, ml.r7g, ml.t4g) and in the instance table (ml.m8g is
    valid but unknown to the table: it could be neither judged nor priced for the spend cap)."""
    moved = finding(
        Action.MIGRATE_GRAVITON,
        instance_type="ml.m5.xlarge",
        target="1 x ml.m6g.xlarge (from ml.m5.xlarge)",
        evidence={"target": "ml.m6g.xlarge"},
    )
    types = [c.instance_type or "" for c in candidates_for(moved)]
    assert types[:2] == ["ml.m5.xlarge", "ml.m6g.xlarge"]
    assert "ml.m8g.xlarge" not in types
    assert set(types) <= set(instance_specs())
    enum = production_variant_instance_types()
    assert set(types) <= enum
    assert not any(t.startswith(("ml.m7g", "ml.r7g.", "ml.t4g")) for t in types)


def test_the_graviton_table_matches_the_botocore_model() -> None:
    """GIVEN the table of Graviton sizes valid for real-time endpoints
    WHEN each is looked up in the botocore model
    THEN every one is there."""
    enum = production_variant_instance_types()
    table = {f"{family}.{size}" for family, sizes in GRAVITON_REALTIME_SIZES.items() for size in sizes}
    assert table <= enum, sorted(table - enum)


def test_serverless_benchmarks_the_rung_s_memory_and_the_next_sizes_up() -> None:
    """GIVEN a serverless move the rung sized at 4096 MB with MaxConcurrency 3
    WHEN its candidates are listed
    THEN today's instance type, then 4096, 5120 and 6144 MB at MaxConcurrency 3 (none above 6144)."""
    moved = finding(
        Action.MIGRATE_SERVERLESS,
        instance_type="ml.m5.large",
        target="Serverless Inference 4096 MB, MaxConcurrency 3",
    )
    candidates = candidates_for(moved)
    assert candidates[0].instance_type == "ml.m5.large"
    assert [(c.serverless_memory_mb, c.serverless_max_concurrency) for c in candidates[1:]] == [
        (4096, 3),
        (5120, 3),
        (6144, 3),
    ]


def test_no_job_for_other_actions_nor_for_an_endpoint_the_scan_could_not_read() -> None:
    """GIVEN a park finding, and a rightsize finding without scan facts
    WHEN candidates are listed
    THEN there are none."""
    assert candidates_for(finding(Action.PARK)) == []
    assert candidates_for(finding().model_copy(update={"scan": None})) == []


def test_a_large_family_is_cut_to_ten_configurations() -> None:
    """GIVEN a rightsize of ml.m5.24xlarge, the largest m5 size
    WHEN its candidates are listed
    THEN there are at most ten."""
    candidates = candidates_for(finding(Action.RIGHTSIZE, instance_type="ml.m5.24xlarge"))
    assert 1 < len(candidates) <= MAX_ENDPOINT_CONFIGURATIONS


def test_without_the_baseline_a_graviton_job_benchmarks_graviton_only() -> None:
    """GIVEN a Graviton move whose model runs an arm64-only image
    WHEN candidates are listed without the baseline
    THEN today's x86 type is not among them."""
    moved = finding(
        Action.MIGRATE_GRAVITON, instance_type="ml.c5.xlarge", evidence={"target": "ml.c7g.xlarge"}
    )
    types = [c.instance_type for c in candidates_for(moved, include_baseline=False)]
    assert "ml.c5.xlarge" not in types and types[0] == "ml.c7g.xlarge"


def test_instant_recommendations_count_only_once_sagemaker_has_completed_them() -> None:
    """GIVEN DescribeModel answers with instant recommendations COMPLETED, IN_PROGRESS, or none
    WHEN their instance types are read
    THEN only the completed ones name types."""
    listed = [{"RecommendationId": "r1", "InstanceType": "ml.c5.xlarge", "Environment": {}}]
    completed = {
        "DeploymentRecommendation": {
            "RecommendationStatus": "COMPLETED",
            "RealTimeInferenceRecommendations": listed,
        }
    }
    running = {
        "DeploymentRecommendation": {
            "RecommendationStatus": "IN_PROGRESS",
            "RealTimeInferenceRecommendations": listed,
        }
    }
    assert instant_instance_types(completed) == ("ml.c5.xlarge",)
    assert instant_instance_types(running) == ()
    assert instant_instance_types({}) == ()


def test_instant_recommendations_that_name_no_candidate_leave_every_candidate_in_the_benchmark() -> None:
    """GIVEN a rightsize of ml.c5.4xlarge whose instant recommendations name only ml.m5.large
    WHEN the candidates are narrowed
    THEN every candidate stays: the free hint names none of them, so it decides nothing."""
    candidates = candidates_for(finding(Action.RIGHTSIZE, instance_type="ml.c5.4xlarge"))
    assert narrowed_by_instant(candidates, ("ml.m5.large",), today="ml.c5.4xlarge") == candidates
    narrowed = narrowed_by_instant(candidates, ("ml.c5.xlarge",), today="ml.c5.4xlarge")
    assert [c.instance_type for c in narrowed] == ["ml.c5.4xlarge", "ml.c5.xlarge"]
