"""The thresholds of an Inference Recommender confirmation, each beside its reason, and the facts about
IR they rely on (with source and date)."""

from __future__ import annotations

# ---- judging a benchmark (the policy of this tool) ------------------------------------------------
# A candidate may be this much slower at p99 than the endpoint is today: a smaller or Graviton instance
# is expected to be a little slower, and IR measures under its own load, not the endpoint's.
LATENCY_MARGIN = 1.2
# The observed peak per minute x this must fit under what the candidate sustained: IR's MaxInvocations
# is the most it carried within the latency threshold, so a peak at 80 % of it leaves room for a spike.
THROUGHPUT_HEADROOM = 1.25
# More instances than this is a different fleet, not a resize of this one: not offered.
MAX_INSTANCES_PER_OPTION = 10
# The job's CostPerHour (list price) and the price book (live or bundled, less any negotiated discount)
# may disagree; within 10 % they are the same price read twice. Beyond it the lower saving is reported
# and the finding's confidence is "medium": the performance is confirmed, the money is not.
PRICE_MISMATCH_TOLERANCE = 0.10

# ---- the job ------------------------------------------------------------------------------------------
# "EndpointConfigurations ... Maximum number of 10 items" (botocore 1.43.127 sagemaker
# EndpointInputConfigurations, read 2026-12-01).
MAX_ENDPOINT_CONFIGURATIONS = 10
# Tests run at once: each is an endpoint counted against the account's endpoint quota
# (ResourceLimitExceeded when it is reached); 3 keeps a job from crowding out real deployments.
MAX_PARALLEL_TESTS = 3
# One load phase per test. InitialNumberOfUsers 1-3 and DurationInSeconds 120-3600 (the SageMaker
# developer guide as quoted in issue 9's facts, 2026-12; botocore 1.43.127 only says >= 1).
PHASE_SECONDS = 600  # ten minutes: ten steps of SpawnRate users, enough to pass the observed peak
MIN_PHASE_USERS, MAX_PHASE_USERS = 1, 3
# The ramp goes on to this multiple of the users the observed peak needs: where the candidate breaks
# shows how much room it has, not only that it carries today's peak.
RAMP_BEYOND_PEAK = 2.0
# Creating, warming and deleting a test's endpoint: a judgement of 15 minutes (endpoint creation takes
# minutes; "Advanced jobs take about 2 hours" for a full set, issue 9's facts).
ENDPOINT_SETUP_SECONDS = 900
# JobDurationInSeconds <= 18,000 (issue 9's facts, from the SageMaker API reference; botocore 1.43.127
# only says >= 1).
MAX_JOB_SECONDS = 18_000

# ---- waiting (the Step Functions loop reads these through the item it carries) ----------------------
# No waiter and no EventBridge event for IR jobs: the workflow polls. Every 5 minutes is 24 polls for a
# 2-hour job: cheap, and a result is never more than 5 minutes late.
POLL_SECONDS = 300
# A job still running this long after its own JobDurationInSeconds is stopped
# (StopInferenceRecommendationsJob): IR has ended it by then or will not.
DEADLINE_MARGIN_SECONDS = 1_800

# ---- how a user supplies what the job needs ------------------------------------------------------------
SAMPLE_PAYLOAD_TAG = "endpoint-optimizer:sample-payload"  # s3://bucket/key.tar.gz of sample requests
FRAMEWORK_TAG = "endpoint-optimizer:framework"  # PYTORCH | TENSORFLOW | XGBOOST | SAGEMAKER-SCIKIT-LEARN
FRAMEWORK_VERSION_TAG = "endpoint-optimizer:framework-version"  # e.g. 2.1.0
DOMAIN_TAG = "endpoint-optimizer:domain"  # COMPUTER_VISION | NATURAL_LANGUAGE_PROCESSING | MACHINE_LEARNING
TASK_TAG = "endpoint-optimizer:task"  # e.g. CLASSIFICATION, REGRESSION, OTHER
