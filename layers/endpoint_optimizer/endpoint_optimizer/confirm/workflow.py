"""One move's confirmation as the workflow's "Confirm moves" map runs it, one short call a step:

- `start`: the endpoint's model, image and baseline, a sample payload, the job request; the job started
  (or a recent one reused). A move that cannot be benchmarked (deferred by the spend cap, no payload, an
  unknown image, the account's quota) comes back finished, NOT_STARTED, with the reason.
- `poll`: the job's status, and whether its deadline (its JobDurationInSeconds and a margin) has passed.
- `stop`: past the deadline, StopInferenceRecommendationsJob; the job is then polled until it is STOPPED
  (at most POLLS_AFTER_STOP polls), so `finish` reports the benchmarks it did finish.
- `finish`: the job's results -> the confirmation -> the finding, confirmed, downgraded or unconfirmed.

The waiting between two polls is the workflow's Wait state (RecommenderPollSeconds), never a sleeping
Lambda. AWS access: the clients passed in; `now` is passed in.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from endpoint_optimizer.confirm.endpoint import finish_confirmation, start_confirmation
from endpoint_optimizer.confirm.jobs import TERMINAL, describe
from endpoint_optimizer.confirm.jobs import stop as stop_job
from endpoint_optimizer.decide.confirm import confirm, current_variant, not_started
from endpoint_optimizer.decide.pricing import HostingPrice, PriceBook, ServerlessPrice
from endpoint_optimizer.infra.events import RecommenderJob
from endpoint_optimizer.infra.settings import RecommendSettings
from endpoint_optimizer.models import Baseline, Confirmation, ConfirmedMove, MoveToConfirm

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

# A stopped job goes STOPPING, then STOPPED (DescribeInferenceRecommendationsJob Status). The polls (each
# RecommenderPollSeconds apart) given it to get there; past them `finish` reports what there is. Our choice.
POLLS_AFTER_STOP = 3


def prices_of(item: MoveToConfirm) -> PriceBook:
    """The run's prices the item carries (Analyze's price book, discount included), as a price book."""
    region = item.finding.region
    source, date = "this run's price book (Analyze)", "this run"
    serverless = item.serverless_usd_per_gb_second
    return PriceBook(
        prices={
            (region, t): HostingPrice(region, t, usd, source, date) for t, usd in item.hourly_usd.items()
        },
        serverless={} if serverless is None else {region: ServerlessPrice(region, serverless, source, date)},
    )


def scanned_baseline(item: MoveToConfirm) -> Baseline:
    """The baseline as the scan saw it (no CloudWatch read): for a move that gets no job."""
    variant = current_variant(item.finding)
    if variant is None:
        return Baseline()
    return Baseline(instance_type=variant.instance_type, instance_count=variant.instance_count)


def _finished(item: MoveToConfirm, confirmation: Confirmation) -> RecommenderJob:
    return RecommenderJob(
        item=item,
        baseline=confirmation.baseline,
        job_name=confirmation.job_name,
        status=confirmation.status,
        finished=True,
        confirmation=confirmation,
    )


def start(
    sagemaker: SageMakerClient,
    s3: S3Client,
    cloudwatch: CloudWatchClient,
    item: MoveToConfirm,
    *,
    settings: RecommendSettings,
    now: datetime,
) -> RecommenderJob:
    """Start (or reuse) the job for `item` (confirm.endpoint, shared with the CLI), or say why none runs."""
    if item.deferred:
        return _finished(item, not_started(scanned_baseline(item), item.deferred))
    outcome = start_confirmation(
        sagemaker,
        cloudwatch,
        s3,
        item.finding,
        role_arn=settings.recommender_role_arn,
        now=now,
        lookback_days=settings.lookback_days,
        reuse_days=settings.reuse_days,
        bucket=settings.artifact_bucket,
    )
    if isinstance(outcome, Confirmation):
        return _finished(item, outcome)
    return RecommenderJob(
        item=item,
        baseline=outcome.baseline,
        job_name=outcome.job_name,
        status="PENDING",
        reused=outcome.reused,
        deadline=outcome.deadline,  # None for a reused job: it is not stopped
        wait_seconds=0 if outcome.reused else settings.poll_seconds,  # a reused job may be done already
    )


def poll(
    sagemaker: SageMakerClient, job: RecommenderJob, *, settings: RecommendSettings, now: datetime
) -> RecommenderJob:
    """The job's status now; finished when it is terminal, deadline_passed when it runs past its deadline."""
    if job.job_name is None:
        return job.model_copy(update={"finished": True})
    status = str(describe(sagemaker, job.job_name).get("Status") or "UNKNOWN")
    finished = status in TERMINAL
    update: dict[str, object] = {"status": status, "wait_seconds": settings.poll_seconds}
    if job.stop_polls_left is not None:  # stopped at its deadline: waiting for STOPPED, not stopped again
        left = max(job.stop_polls_left - 1, 0)
        return job.model_copy(update={**update, "finished": finished or left == 0, "stop_polls_left": left})
    late = not finished and job.deadline is not None and now >= job.deadline
    return job.model_copy(update={**update, "finished": finished, "deadline_passed": late})


def stop(sagemaker: SageMakerClient, job: RecommenderJob) -> RecommenderJob:
    """Past its deadline: ask IR to stop the job, then poll it until it is STOPPED (POLLS_AFTER_STOP at
    most); `finish` then reports the benchmarks it finished. A job that no longer exists is finished."""
    if job.job_name is None or not stop_job(sagemaker, job.job_name):
        return job.model_copy(update={"finished": True, "deadline_passed": False})
    return job.model_copy(
        update={"status": "STOPPING", "deadline_passed": False, "stop_polls_left": POLLS_AFTER_STOP}
    )


def _average_invocations_per_hour(item: MoveToConfirm) -> float | None:
    """The endpoint's average traffic, from the finding's evidence (a serverless option is priced per use)."""
    invocations = item.finding.evidence.get("invocations")
    hours = item.finding.evidence.get("window_hours")
    if isinstance(invocations, int | float) and isinstance(hours, int | float) and hours > 0:
        return float(invocations) / float(hours)
    return None


def finish(sagemaker: SageMakerClient, job: RecommenderJob) -> ConfirmedMove:
    """The verdict: the confirmation (the job's, or why none ran) applied to the move's finding."""
    confirmation = job.confirmation
    if confirmation is None and job.job_name is not None:
        confirmation = finish_confirmation(
            sagemaker,
            job.job_name,
            job.baseline,
            reused=job.reused,
            average_invocations_per_hour=_average_invocations_per_hour(job.item),
            stopped_at_deadline=job.stop_polls_left is not None,
        )
    if confirmation is None:
        confirmation = not_started(job.baseline, "no Inference Recommender job was started")
    confirmed = confirm(job.item.finding, confirmation, prices_of(job.item))
    # The plan keeps the scan facts: the state carries the verdict only.
    return ConfirmedMove(plan_key=job.item.plan_key, finding=confirmed.model_copy(update={"scan": None}))
