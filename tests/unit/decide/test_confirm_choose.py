"""Choosing from an Inference Recommender job: the cheapest option that meets latency and carries the
observed peak (count included), and the finding confirmed, downgraded or left unconfirmed."""

from __future__ import annotations

import math

import jsonschema
import pytest

from endpoint_optimizer.analysis import wants_benchmark
from endpoint_optimizer.decide.confirm import confirm, confirmation_from, missing_payload_how_to, not_started
from endpoint_optimizer.decide.confirm.images import NO_KNOWN_ARM64_BUILD, no_arm64_build_reason
from endpoint_optimizer.decide.confirm.thresholds import (
    LATENCY_MARGIN,
    PRICE_MISMATCH_TOLERANCE,
    SAMPLE_PAYLOAD_TAG,
    THROUGHPUT_HEADROOM,
)
from endpoint_optimizer.models import HOURS_PER_MONTH, NOT_STARTED, Action, Finding, Plan
from endpoint_optimizer.plan_contract import plan_document, plan_schema
from tests.conftest import NOW
from tests.unit.decide.confirm_samples import (
    PYTORCH_X86,
    REGION,
    baseline,
    described,
    finding,
    measured,
    measured_serverless,
    prices,
)

TODAY = baseline(instance_type="ml.c5.2xlarge", count=1, p99_ms=25.0, peak_per_minute=1_000.0)
THRESHOLD = 25.0 * LATENCY_MARGIN
NEEDED = 1_000.0 * THROUGHPUT_HEADROOM


def test_the_cheapest_option_meeting_latency_and_throughput_is_chosen() -> None:
    """GIVEN today's ml.c5.2xlarge and two smaller candidates that both meet latency and carry the peak
    WHEN the job's answer is read
    THEN the cheaper one is chosen and both are marked as meeting."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
        measured("ml.c6g.xlarge", latency_ms=26, max_invocations=1_900, cost_per_hour=0.136),
    )
    confirmation = confirmation_from(answer, TODAY)
    assert confirmation.chosen is not None
    assert confirmation.chosen.instance_type == "ml.c6g.xlarge"
    assert confirmation.chosen.instance_count == 1
    assert [o.meets for o in confirmation.options] == [True, True, True]


def test_a_candidate_that_misses_latency_is_never_chosen_and_the_reason_is_measured() -> None:
    """GIVEN the cheapest candidate answers at p99 41 ms where today's p99 is 25 ms
    WHEN the job's answer is read and the finding confirmed
    THEN it is not chosen, a dearer one that meets is, and the finding names the measurement."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c7g.xlarge", latency_ms=41, max_invocations=3_000, cost_per_hour=0.145),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
    )
    confirmation = confirmation_from(answer, TODAY)
    assert confirmation.chosen is not None and confirmation.chosen.instance_type == "ml.c5.xlarge"
    slow = next(o for o in confirmation.options if o.instance_type == "ml.c7g.xlarge")
    assert not slow.meets_latency
    reason = f"ml.c7g.xlarge: p99 41 ms > {THRESHOLD:.0f} ms (observed p99 25 ms + 20 %)"
    confirmed = confirm(finding(), confirmation, prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=0.204))
    assert reason in confirmed.reasons


def test_two_smaller_instances_beat_one_bigger_when_cheaper_and_both_meet() -> None:
    """GIVEN a peak that needs 2 x ml.c6g.large (each carries 700 of 1,250 needed) or 1 x ml.c5.xlarge
    WHEN both meet latency and 2 x ml.c6g.large cost less per hour
    THEN 2 x ml.c6g.large is chosen, its cost and throughput for 2 instances."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
        measured("ml.c6g.large", latency_ms=28, max_invocations=700, cost_per_hour=0.0816),
    )
    confirmation = confirmation_from(answer, TODAY)
    chosen = confirmation.chosen
    assert chosen is not None
    assert (chosen.instance_type, chosen.instance_count) == ("ml.c6g.large", math.ceil(NEEDED / 700))
    assert chosen.cost_per_hour == pytest.approx(0.0816 * 2)
    assert chosen.max_invocations == 1_400
    assert chosen.label == "2 x ml.c6g.large"


def test_one_bigger_instance_wins_when_two_smaller_cost_more() -> None:
    """GIVEN the same measurements, but the smaller size costs more than half the bigger one
    WHEN the job's answer is read
    THEN one ml.c5.xlarge is chosen (count is part of the price)."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
        measured("ml.c6g.large", latency_ms=28, max_invocations=700, cost_per_hour=0.11),
    )
    chosen = confirmation_from(answer, TODAY).chosen
    assert chosen is not None and chosen.label == "1 x ml.c5.xlarge"


def test_an_option_that_cannot_carry_the_peak_on_the_most_instances_allowed_is_not_chosen() -> None:
    """GIVEN a tiny candidate that sustains 50 invocations a minute
    WHEN the peak needs 1,250
    THEN it is marked as missing throughput with the numbers, and not chosen."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c6g.large", latency_ms=20, max_invocations=50, cost_per_hour=0.01),
    )
    confirmation = confirmation_from(answer, TODAY)
    tiny = next(o for o in confirmation.options if o.instance_type == "ml.c6g.large")
    assert tiny.meets_latency and not tiny.meets_throughput
    assert confirmation.chosen is None
    assert any(
        r.startswith("ml.c6g.large: 500 invocations/min even on 10 instances < 1,250")
        for r in confirmation.reasons
    )


def test_today_s_configuration_is_never_the_chosen_move() -> None:
    """GIVEN only today's instance type was measured, and one of it carries the peak
    WHEN the job's answer is read
    THEN nothing is chosen: keeping things as they are is not a confirmed move."""
    answer = described(measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408))
    assert confirmation_from(answer, TODAY).chosen is None


def test_fewer_instances_of_today_s_type_is_a_move() -> None:
    """GIVEN 4 x ml.c5.2xlarge today and one of them carries the whole peak
    WHEN the job's answer is read
    THEN 1 x ml.c5.2xlarge is chosen."""
    four = baseline(count=4)
    answer = described(measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408))
    chosen = confirmation_from(answer, four).chosen
    assert chosen is not None and chosen.label == "1 x ml.c5.2xlarge"


def test_a_confirmed_finding_takes_the_chosen_target_savings_and_high_confidence() -> None:
    """GIVEN a rightsize finding and a job that chose 1 x ml.c5.xlarge, the price book agreeing
    WHEN the finding is confirmed
    THEN target, savings (from the job's CostPerHour), confidence high and the evidence follow the job,
    and the pending 'to be confirmed' line is replaced by the job's name."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
    )
    confirmation = confirmation_from(answer, TODAY)
    confirmed = confirm(finding(), confirmation, prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=0.204))
    assert confirmed.action == Action.RIGHTSIZE
    assert confirmed.target == "1 x ml.c5.xlarge (from 1 x ml.c5.2xlarge)"
    assert confirmed.estimated_monthly_savings_usd == pytest.approx((0.408 - 0.204) * HOURS_PER_MONTH)
    assert confirmed.confidence == "high"
    assert confirmed.evidence["benchmark_p99_latency_ms"] == 24
    assert confirmed.evidence["recommender_job"] == answer["JobName"]
    assert not any("to be confirmed" in reason for reason in confirmed.reasons)
    assert f"confirmed by Inference Recommender job {answer['JobName']}" in confirmed.reasons
    assert confirmed.confirmation == confirmation


def test_a_graviton_choice_on_an_x86_endpoint_is_a_graviton_move() -> None:
    """GIVEN a rightsize finding whose job found ml.c6g.xlarge the cheapest that meets
    WHEN the finding is confirmed
    THEN its action becomes migrate_graviton (it needs the arm64 image to apply)."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c6g.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.136),
    )
    confirmed = confirm(finding(), confirmation_from(answer, TODAY), prices())
    assert confirmed.action == Action.MIGRATE_GRAVITON


@pytest.mark.parametrize(
    ("book_chosen", "lower_is"),
    [(0.30, "book"), (0.10, "job")],
    ids=["book-saves-less", "job-saves-less"],
)
def test_a_price_mismatch_beyond_the_tolerance_reports_the_lower_saving_at_medium_confidence(
    book_chosen: float, lower_is: str
) -> None:
    """GIVEN the job prices ml.c5.xlarge at 0.204/h and the price book at another price, over 10 % apart
    WHEN the finding is confirmed
    THEN the lower of the two savings is reported, confidence is medium, and a reason names both."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
    )
    job = (0.408 - 0.204) * HOURS_PER_MONTH
    book = (0.408 - book_chosen) * HOURS_PER_MONTH
    assert abs(job - book) / max(job, book) > PRICE_MISMATCH_TOLERANCE
    confirmed = confirm(
        finding(), confirmation_from(answer, TODAY), prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=book_chosen)
    )
    assert confirmed.estimated_monthly_savings_usd == pytest.approx(
        book if lower_is == "book" else job, abs=0.01
    )
    assert confirmed.confidence == "medium"
    assert any(reason.startswith("price check: the job's CostPerHour gives") for reason in confirmed.reasons)


def test_a_price_difference_within_the_tolerance_keeps_the_job_s_saving() -> None:
    """GIVEN the price book 5 % off the job's price for the chosen type
    WHEN the finding is confirmed
    THEN the job's saving stands at high confidence."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
    )
    confirmed = confirm(
        finding(), confirmation_from(answer, TODAY), prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=0.204 * 1.05)
    )
    assert confirmed.estimated_monthly_savings_usd == pytest.approx((0.408 - 0.204) * HOURS_PER_MONTH)
    assert confirmed.confidence == "high"


def test_when_no_option_meets_the_finding_is_downgraded_with_the_measured_reasons_as_blockers() -> None:
    """GIVEN every candidate slower than the threshold
    WHEN the finding is confirmed
    THEN its confidence is low and each measured reason blocks it."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=45, max_invocations=2_000, cost_per_hour=0.204),
    )
    downgraded = confirm(finding(), confirmation_from(answer, TODAY), prices())
    assert downgraded.confidence == "low"
    assert downgraded.action == Action.RIGHTSIZE
    assert (
        f"ml.c5.xlarge: p99 45 ms > {THRESHOLD:.0f} ms (observed p99 25 ms + 20 %)" in downgraded.blocked_by
    )


def test_not_started_keeps_the_finding_unconfirmed_with_the_how_to() -> None:
    """GIVEN no sample payload for the endpoint, so no job started
    WHEN the finding is confirmed
    THEN action, target and savings stay, and reasons and blocked_by say how to add a payload."""
    before = finding()
    confirmation = not_started(TODAY, missing_payload_how_to("ranker"))
    after = confirm(before, confirmation, prices())
    assert confirmation.status == NOT_STARTED
    assert (after.action, after.target, after.estimated_monthly_savings_usd) == (
        before.action,
        before.target,
        before.estimated_monthly_savings_usd,
    )
    assert after.confidence == before.confidence
    assert any(SAMPLE_PAYLOAD_TAG in reason and "Data Capture" in reason for reason in after.reasons)
    assert after.blocked_by == [f"unconfirmed: {missing_payload_how_to('ranker')}"]


def test_a_failed_job_leaves_the_finding_unconfirmed_with_aws_s_reason() -> None:
    """GIVEN a job that FAILED with a reason
    WHEN its answer is read and the finding confirmed
    THEN the finding is unconfirmed and names the reason."""
    answer = described(status="FAILED", FailureReason="Model container failed to start")
    after = confirm(finding(), confirmation_from(answer, TODAY), prices())
    assert after.blocked_by == [
        f"unconfirmed: Inference Recommender job {answer['JobName']} failed: Model container failed to start"
    ]


def test_without_an_observed_p99_the_threshold_is_today_s_benchmarked_latency() -> None:
    """GIVEN no p99 latency observed in CloudWatch
    WHEN the job measured today's type at 20 ms and a candidate at 30 ms
    THEN the candidate misses a threshold of 20 ms x the margin, which its reason states."""
    unobserved = baseline(p99_ms=None)
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=30, max_invocations=2_000, cost_per_hour=0.204),
    )
    confirmation = confirmation_from(answer, unobserved)
    assert confirmation.chosen is None
    assert (
        f"ml.c5.xlarge: p99 30 ms > {20 * LATENCY_MARGIN:.0f} ms (ml.c5.2xlarge benchmarked at 20 ms + 20 %)"
        in (confirmation.reasons)
    )


def test_a_serverless_option_is_priced_per_use_at_the_average_traffic() -> None:
    """GIVEN a serverless finding and a job measuring 2048 MB at a cost per inference
    WHEN the answer is read with the endpoint's average invocations per hour
    THEN the option's hourly cost is cost per inference x that traffic and the move is serverless."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured_serverless(2048, latency_ms=28, max_invocations=1_500, cost_per_inference=0.00002),
    )
    confirmation = confirmation_from(answer, TODAY, average_invocations_per_hour=600)
    assert confirmation.chosen is not None
    assert confirmation.chosen.cost_per_hour == pytest.approx(0.00002 * 600)
    serverless = finding(Action.MIGRATE_SERVERLESS, target="Serverless Inference 2048 MB, MaxConcurrency 5")
    confirmed = confirm(serverless, confirmation, prices(ml_c5_2xlarge=0.408))
    assert confirmed.action == Action.MIGRATE_SERVERLESS
    assert confirmed.target == "Serverless Inference 2048 MB, MaxConcurrency 5 (from 1 x ml.c5.2xlarge)"


def test_a_plan_with_a_confirmation_matches_the_published_schema() -> None:
    """GIVEN a plan with a confirmed, an unconfirmed and an unbenchmarked finding
    WHEN it is written as the plan document
    THEN it validates against plan-v1.schema.json, schema_version still 1."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
        measured_serverless(2048, latency_ms=80, max_invocations=300, cost_per_inference=0.00002),
    )
    book = prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=0.204)
    plan = Plan(
        generated_at=NOW,
        region=REGION,
        lookback_days=14,
        findings=[
            confirm(finding(), confirmation_from(answer, TODAY, reused=True), book),
            confirm(finding(), not_started(TODAY, missing_payload_how_to("ranker")), book),
            finding(),
        ],
    )
    document = plan_document(plan)
    jsonschema.validate(document, plan_schema())
    assert document["schema_version"] == 1
    assert document["findings"][0]["confirmation"]["chosen"]["instance_type"] == "ml.c5.xlarge"
    assert document["findings"][2]["confirmation"] is None


def test_the_schema_refuses_a_confirmation_option_without_its_measurements() -> None:
    """GIVEN a plan document whose chosen option lost its latency field
    WHEN it is validated
    THEN the schema refuses it (the check above can fail)."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
    )
    plan = Plan(
        generated_at=NOW,
        region=REGION,
        lookback_days=14,
        findings=[confirm(finding(), confirmation_from(answer, TODAY), prices())],
    )
    document = plan_document(plan)
    del document["findings"][0]["confirmation"]["chosen"]["model_latency_ms"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, plan_schema())


def graviton_move(image: str) -> Finding:
    """A Graviton move of ml.c5.2xlarge held for want of an arm64 image (as a plan written before the rung
    knew the image's arm64 build would hold it)."""
    moved = finding(
        Action.MIGRATE_GRAVITON,
        target="1 x ml.c6g.2xlarge (from ml.c5.2xlarge)",
        evidence={"target": "ml.c6g.2xlarge"},
        image=image,
    )
    held = no_arm64_build_reason(image)
    return moved.model_copy(update={"blocked_by": [held]})


def test_a_graviton_move_held_for_an_arm64_image_is_freed_by_a_benchmark_of_its_arm64_build() -> None:
    """GIVEN a Graviton move held because its PyTorch x86 image is not an arm64 build, though one is known
    WHEN the analysis picks what to benchmark, and the job of the arm64 build completes with a chosen option
    THEN it is benchmarked, and the confirmed finding is no longer held and names the build it measured."""
    moved = graviton_move(PYTORCH_X86)
    assert wants_benchmark(moved)
    answer = described(measured("ml.c6g.2xlarge", latency_ms=22, max_invocations=3_000, cost_per_hour=0.272))
    confirmed = confirm(
        moved, confirmation_from(answer, TODAY), prices(ml_c5_2xlarge=0.408, ml_c6g_2xlarge=0.272)
    )
    assert confirmed.blocked_by == []
    assert confirmed.action == Action.MIGRATE_GRAVITON
    assert any(
        "benchmarked on the arm64 build" in reason and "arm64" in reason for reason in confirmed.reasons
    )


def test_a_graviton_move_of_an_image_without_a_known_arm64_build_is_not_benchmarked_and_stays_held() -> None:
    """GIVEN a Graviton move held for an arm64 image, its image a private one nobody builds for arm64
    WHEN the analysis picks what to benchmark
    THEN it is not benchmarked (nothing could run it on Graviton), and stays held."""
    moved = graviton_move("123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:latest")
    assert not wants_benchmark(moved)
    assert moved.blocked_by and NO_KNOWN_ARM64_BUILD in moved.blocked_by[0]


def test_a_benchmark_that_chooses_nothing_leaves_the_graviton_move_held() -> None:
    """GIVEN a Graviton move held for an arm64 image whose arm64 build is benchmarked
    WHEN every Graviton option misses the latency
    THEN the arm64 blocker stays, beside the measured reason."""
    moved = graviton_move(PYTORCH_X86)
    answer = described(measured("ml.c6g.2xlarge", latency_ms=90, max_invocations=3_000, cost_per_hour=0.272))
    confirmed = confirm(moved, confirmation_from(answer, TODAY), prices(ml_c5_2xlarge=0.408))
    assert NO_KNOWN_ARM64_BUILD in confirmed.blocked_by[0]
    assert len(confirmed.blocked_by) > 1
