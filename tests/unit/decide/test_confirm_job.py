"""The CreateInferenceRecommendationsJob request: valid for AWS (the botocore model's required members,
enums, lengths, ranges and patterns), never aimed at the production endpoint, named so it can be reused,
and priced before it runs."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import botocore.session
import pytest

from emulated_aws.botocore_validation import validate_request
from endpoint_optimizer.decide.confirm import (
    Candidate,
    candidates_for,
    container_config_for,
    deadline_for,
    estimated_job_cost,
    job_request,
    reuse_key,
)
from endpoint_optimizer.decide.confirm.images import ContainerFacts
from endpoint_optimizer.decide.confirm.thresholds import (
    DEADLINE_MARGIN_SECONDS,
    ENDPOINT_SETUP_SECONDS,
    LATENCY_MARGIN,
    MAX_JOB_SECONDS,
    MAX_PHASE_USERS,
    MIN_PHASE_USERS,
    PHASE_SECONDS,
)
from endpoint_optimizer.decide.pricing import PriceBook, ServerlessPrice
from endpoint_optimizer.models import Action, Baseline
from tests.conftest import NOW
from tests.unit.decide.confirm_samples import (
    PAYLOAD,
    PYTORCH_X86,
    REGION,
    ROLE_ARN,
    baseline,
    finding,
    prices,
)

OPERATION = "CreateInferenceRecommendationsJob"


@cache
def sagemaker_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def container() -> ContainerFacts:
    facts = container_config_for(PYTORCH_X86)
    assert facts is not None
    return facts


def request_for(
    candidates: list[Candidate], today: Baseline | None = None, endpoint_name: str = "ranker"
) -> dict[str, Any]:
    return job_request(
        endpoint_name=endpoint_name,
        model_name="ranker-model-2026-11-01",
        role_arn=ROLE_ARN,
        container=container(),
        sample_payload_url=PAYLOAD,
        candidates=candidates,
        baseline=today or baseline(),
        now=NOW,
    )


SHAPES = {
    "rightsize": finding(Action.RIGHTSIZE, instance_type="ml.c5.4xlarge"),
    "graviton": finding(
        Action.MIGRATE_GRAVITON,
        instance_type="ml.c5.2xlarge",
        target="1 x ml.c7g.2xlarge (from ml.c5.2xlarge)",
        evidence={"target": "ml.c7g.2xlarge"},
    ),
    "serverless": finding(
        Action.MIGRATE_SERVERLESS,
        instance_type="ml.m5.large",
        target="Serverless Inference 3072 MB, MaxConcurrency 4",
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize(
    "today",
    [
        baseline(),
        baseline(p99_ms=None, peak_per_minute=None),
        baseline(p99_ms=900.0, peak_per_minute=90_000.0),
    ],
    ids=["observed", "unobserved", "slow-and-busy"],
)
def test_every_job_request_passes_aws_validation(shape: str, today: Baseline) -> None:
    """GIVEN a rightsize, Graviton or serverless finding and what CloudWatch saw of the endpoint
    WHEN its job request is built
    THEN the botocore SageMaker model finds nothing AWS would refuse (required, enum, min/max, pattern)."""
    request = request_for(candidates_for(SHAPES[shape]), today)
    assert validate_request(sagemaker_model(), OPERATION, request) == []


def test_the_validation_above_catches_a_request_aws_would_refuse() -> None:
    """GIVEN a request with a job name too long, an instance type IR does not know and no role
    WHEN it is validated against the botocore model
    THEN each is reported (the check above can fail)."""
    request = request_for(candidates_for(SHAPES["rightsize"]))
    request["JobName"] = "x" * 65
    request["InputConfig"]["EndpointConfigurations"][0]["InstanceType"] = "ml.m7g.large"
    del request["RoleArn"]
    errors = validate_request(sagemaker_model(), OPERATION, request)
    for path in ("'jobName'", "'roleArn'", "'inputConfig.endpointConfigurations.1.member.instanceType'"):
        assert any(path in error for error in errors), (path, errors)


def test_the_job_benchmarks_the_model_never_the_production_endpoint() -> None:
    """GIVEN any finding's job
    WHEN its request is built
    THEN it is an Advanced job by ModelName, with no InputConfig.Endpoints."""
    request = request_for(candidates_for(SHAPES["rightsize"]))
    assert request["JobType"] == "Advanced"
    assert request["InputConfig"]["ModelName"] == "ranker-model-2026-11-01"
    assert "Endpoints" not in request["InputConfig"]


def test_latency_threshold_and_load_come_from_what_the_endpoint_does_today() -> None:
    """GIVEN a p99 of 25 ms and a peak of 1,000 invocations a minute
    WHEN the request is built
    THEN the P99 threshold is 25 ms x the margin, rounded up, and the load starts within IR's 1-3 users."""
    request = request_for(candidates_for(SHAPES["rightsize"]), baseline(p99_ms=25.0, peak_per_minute=1_000.0))
    thresholds = request["StoppingConditions"]["ModelLatencyThresholds"]
    assert thresholds == [{"Percentile": "P99", "ValueInMilliseconds": round(25.0 * LATENCY_MARGIN + 0.4999)}]
    phase = request["InputConfig"]["TrafficPattern"]["Phases"][0]
    assert MIN_PHASE_USERS <= phase["InitialNumberOfUsers"] <= MAX_PHASE_USERS
    assert phase["DurationInSeconds"] == PHASE_SECONDS
    assert request["StoppingConditions"]["MaxInvocations"] > 1_000


def test_the_same_model_and_candidates_give_the_same_key_and_a_new_minute_a_new_name() -> None:
    """GIVEN one finding's candidates
    WHEN the request is built at two moments, and once for another model
    THEN the reuse key is in both names, the names differ, and another model gets another key."""
    candidates = candidates_for(SHAPES["rightsize"])
    key = reuse_key("ranker", "ranker-model-2026-11-01", candidates)
    first = request_for(candidates)["JobName"]
    later = job_request(
        endpoint_name="ranker",
        model_name="ranker-model-2026-11-01",
        role_arn=ROLE_ARN,
        container=container(),
        sample_payload_url=PAYLOAD,
        candidates=list(reversed(candidates)),
        baseline=baseline(),
        now=NOW + timedelta(days=30),
    )["JobName"]
    assert key in first[:40] and key in later[:40]
    assert first != later
    assert reuse_key("ranker", "ranker-model-2026-12-01", candidates) != key


def test_a_long_endpoint_name_still_gives_a_valid_job_name() -> None:
    """GIVEN an endpoint name of 63 characters with dots and underscores
    WHEN its job is named
    THEN the name has at most 64 characters and passes the API's pattern."""
    name = "a" * 20 + "_b.c-" + "d" * 38
    request = request_for(candidates_for(SHAPES["rightsize"]), endpoint_name=name)
    assert len(request["JobName"]) <= 64
    assert validate_request(sagemaker_model(), OPERATION, request) == []


def test_too_many_candidates_are_refused_before_aws_sees_them() -> None:
    """GIVEN eleven configurations
    WHEN a request is built
    THEN it raises: IR takes at most ten."""
    with pytest.raises(ValueError, match="1 to 10"):
        request_for([Candidate(instance_type=f"ml.c5.{n}xlarge") for n in range(11)])


def test_the_deadline_is_the_job_s_duration_plus_the_margin() -> None:
    """GIVEN a job started now
    WHEN its deadline is read
    THEN it is JobDurationInSeconds + the margin later, and the duration is within IR's limit."""
    request = request_for(candidates_for(SHAPES["rightsize"]))
    duration = request["InputConfig"]["JobDurationInSeconds"]
    assert 0 < duration <= MAX_JOB_SECONDS
    assert deadline_for(request, NOW) == NOW + timedelta(seconds=duration + DEADLINE_MARGIN_SECONDS)


def test_the_job_cost_is_each_candidate_s_price_for_its_test() -> None:
    """GIVEN two instance candidates with known prices
    WHEN the job's cost is estimated
    THEN it is each hourly price x (phase + setup) hours."""
    request = request_for([Candidate(instance_type="ml.c5.2xlarge"), Candidate(instance_type="ml.c5.xlarge")])
    book = prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=0.204)
    hours = (PHASE_SECONDS + ENDPOINT_SETUP_SECONDS) / 3600
    assert estimated_job_cost(request, book, REGION) == pytest.approx((0.408 + 0.204) * hours, abs=1e-4)


def test_a_serverless_candidate_is_costed_as_busy_for_its_whole_phase() -> None:
    """GIVEN a serverless candidate of 2048 MB and a price per GB-second
    WHEN the job's cost is estimated
    THEN it is 2 GB x the phase's seconds x the price (an upper bound)."""
    request = request_for([Candidate(serverless_memory_mb=2048, serverless_max_concurrency=2)])
    book = PriceBook({}, serverless={REGION: ServerlessPrice(REGION, 0.00002, "test", "2026-12-01")})
    assert estimated_job_cost(request, book, REGION) == pytest.approx(2 * PHASE_SECONDS * 0.00002, abs=1e-4)


def test_an_unpriced_candidate_makes_the_cost_unknown() -> None:
    """GIVEN a candidate the price book has no price for
    WHEN the job's cost is estimated
    THEN it is None (the spend cap cannot be judged, the caller defers the job)."""
    request = request_for([Candidate(instance_type="ml.c5.2xlarge"), Candidate(instance_type="ml.c8g.large")])
    assert estimated_job_cost(request, prices(ml_c5_2xlarge=0.408), REGION) is None
