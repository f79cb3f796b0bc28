"""The thresholds of the fix ladder, each beside its reason, and the facts about AWS the rungs rely on.

Every number here is a judgement of this tool (or a fact with its source and date): the rungs, the
guards and the change detection read them from here, so a change of policy is a change of one line.
"""

from __future__ import annotations

# ---- thresholds (the policy of this tool; each is a judgement, written down) ----------------------
UTILIZATION_COVERAGE = 0.9  # utilisation "present": reported on >= 90 % of the days it could have been
TARGET_PEAK_UTILIZATION = 60.0  # after a rightsize the observed peak must stay under this (% CPU/GPU)
LOW_UTILIZATION = 35.0  # a steady endpoint whose peak stays under this is oversized
SPORADIC_ACTIVE_SHARE = 0.25  # traffic in at most a quarter of the hours
SPORADIC_MAX_CONCURRENCY = 10.0  # estimated peak concurrency serverless must absorb
BURST_FACTOR = 10.0  # an hour's average concurrency x this = a cautious peak (requests bunch up)
SERVERLESS_MEMORY_HEADROOM = 1.3  # memory in use x this must fit the serverless size
BUSINESS_HOURS = range(7, 19)  # UTC, Monday to Friday
BUSINESS_SHARE = 0.95  # at least this share of invocations inside business hours
BUSINESS_ACTIVE_WEEKDAYS = 0.6  # traffic on at least this share of the weekdays in the window
OFF_HOURS_FRACTION = (7 * 24 - 5 * len(BUSINESS_HOURS)) / (7 * 24)  # 108 of 168 hours
CONSOLIDATE_MIN_GROUP = 3
CONSOLIDATE_MAX_PEAK = 20.0  # % CPU of the instance: endpoints this lightly used can share a host
CONSOLIDATE_MEMORY_FILL = 0.8  # a shared host's memory is filled to at most this share

# Change inside the window. Fourteen days summarised into shares read a change of regime as a pattern
# (an endpoint that became busy yesterday looks "sporadic"), so the recent part of the window is compared
# with the rest before any rung runs. A change holds every rung that takes capacity away (park, scale to
# zero, serverless, schedule, rightsize) until the new pattern can be judged. The comparisons are made
# against the same hours one week earlier wherever they can be: nights and weekends then never look like
# a stop, nor Monday mornings like a start.
HOURS_PER_WEEK = 168
NEW_PATTERN_DAYS = 7  # a new pattern is judged once it has lasted a week: every weekday and a weekend
CHANGE_FACTOR = 4.0  # "moved by a large factor": a median hour 4x higher or lower than a week earlier, or
#                      traffic in 4x the share of hours. Traffic that swings 30x from hour to hour (200 to
#                      6,000 calls, as the demo's busy endpoints) moves its medians at most 3.3x (2,000
#                      simulated windows, every stretch below)
CHANGE_CHANCE = 1e-4  # a start or a stop is no accident: what the window shows would happen by chance less
#                       than once in 10,000 windows of an unchanged endpoint (sporadic traffic clusters and
#                       pauses by chance; a start or a stop is sustained)
START_QUIET_HOURS = 24  # a start follows a quiet day or more (a night is shorter) ...
START_MIN_HOURS = 3  # ... and has traffic in 3 hours or more: one or two hours after a quiet day is a burst
# A stop: the silence that ends the window covers hours that had traffic at the same hour of the week
# before it began. Were nothing changed, each such hour would be as likely to fall in either week, so 14
# of them all in the earlier week is a chance of 0.5 ** 14 = 6e-5 (under CHANGE_CHANCE): a busy endpoint
# is seen to stop after 14 quiet hours, a weekday business-hours one after about a day and a half of them.
LEVEL_MIN_HOURS = 6  # a level is the median invocations of 6 hours with traffic or more (noise shrinks)
LEVEL_BLOCK_HOURS = (12, 24, 48, 72, 96, 120, 144)  # recent stretches compared with a week earlier: a
#                                                     move shows once it fills half of 12 hours

RAMP_GROWTH = 1.5  # growing: the last week's median hour (or peak utilisation) 1.5x the week before's;
#                    at that rate next month carries 5x this week's traffic: no cut rests on the window
RAMP_MIN_HOURS = 12  # each week's median is taken over 12 hours with traffic or more
RAMP_MIN_DAYS = 3  # an endpoint observed for less than twice this is not checked for growth
UTILISATION_CHANGE_FLOOR = 10.0  # % of the instance: a rise that stays under it is an idle instance's noise

# Patterns longer than a day: named only when the window holds two full cycles of them.
PERIODIC_CYCLES = 2  # one occurrence cannot tell a pattern from a one-off, nor its period
BURST_GAP_HOURS = 24  # traffic after a quiet day or more is a new burst (a nightly job is one per night)
CYCLE_DAYS = (("daily", 1), ("weekly", 7), ("monthly", 31))  # the periods a finding names, shortest first

# "MemorySizeInMB ... min 1024 max 6144", 1 GB steps (botocore 1.43.127 sagemaker
# ProductionVariantServerlessConfig, read 2026-11-30); "GPUs, ... Multi-Model Endpoints, VPC
# configuration, network isolation, data capture, multiple production variants" are not supported
# (AWS docs serverless-endpoints.html, archived 2023-06, same list on the live page 2026).
SERVERLESS_MAX_MEMORY_MB = 6144
SERVERLESS_MEMORY_STEP_MB = 1024
# Serverless endpoints need a CPU container; these families carry accelerators.
ACCELERATED_FAMILIES = ("ml.g", "ml.p", "ml.inf", "ml.trn", "ml.dl")

# Graviton instance types valid for real-time endpoints, by family (botocore 1.43.127 sagemaker
# ProductionVariantInstanceType enum, read 2026-12-01; /work/shared/facts/actions_and_recommender.md
# "Graviton"): there is no ml.m7g, ml.r7g, ml.c7gn or ml.t4g.
_LARGE_TO_16XL = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_MEDIUM_TO_48XL = ("medium", *_LARGE_TO_16XL, "24xlarge", "48xlarge")
GRAVITON_REALTIME_SIZES: dict[str, tuple[str, ...]] = {
    **{family: _LARGE_TO_16XL for family in ("ml.c6g", "ml.c6gd", "ml.c6gn", "ml.m6g", "ml.m6gd")},
    **{family: _LARGE_TO_16XL for family in ("ml.r6g", "ml.r6gd", "ml.c7g")},
    "ml.r7gd": ("medium", *_LARGE_TO_16XL),
    **{family: _MEDIUM_TO_48XL for family in ("ml.c8g", "ml.m8g", "ml.r8g")},
}
# The Graviton families the rung moves an x86 family to, by its letter, preferred first; the rung takes
# the first one whose type is valid (above), in the instance specs and priced in the region, else the
# first valid one (its price then unknown). Only families with instance specs are listed: ml.c7g and
# ml.c6g, ml.m6g (data/instance_specs.csv, 2026-12-01). ml.r6g is valid and specified but has no price
# in any public price point we hold, so memory-optimised endpoints are not moved.
GRAVITON_TARGET_FAMILY = {"c": ("ml.c7g", "ml.c6g"), "m": ("ml.m6g",)}
