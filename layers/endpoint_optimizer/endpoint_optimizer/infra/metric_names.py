"""The names of every metric the functions emit (CloudWatch Embedded Metric Format, through Powertools),
in one place: the handlers emit them and `template.yaml`'s dashboard and alarms read them, and
`tests/unit/test_observability_template.py` fails when one side renames a metric the other still uses.

Dimensions stay low-cardinality: `service` on every metric, plus `action` (the fix ladder) or `outcome`
on the few metrics counted "by" one of them -- never an endpoint, account or approval id (each distinct
dimension set is a custom metric, billed by the hour it is published).
"""

from __future__ import annotations

from typing import Final

# Must equal POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME in template.yaml's Globals (tested).
NAMESPACE: Final = "EndpointOptimizer"
SERVICE: Final = "endpoint-optimizer"

# Dimension names of the metrics counted by a category.
ACTION: Final = "action"
OUTCOME: Final = "outcome"

# ---- scan (functions/scan): what one target's scan read, and what it cost
TARGETS: Final = "Targets"  # targets of a run (functions/targets)
ENDPOINTS_SCANNED: Final = "EndpointsScanned"
ENDPOINTS_NOT_SCANNED: Final = "EndpointsNotScanned"  # listed but not read (time budget, gone meanwhile)
TARGETS_NOT_SCANNED: Final = "TargetsNotScanned"  # AWS refused or failed a whole target
SCANS_CUT_BY_TIME_BUDGET: Final = "ScansCutByTimeBudget"
SCAN_API_CALLS: Final = "ScanApiCalls"
METRIC_SERIES_READ: Final = "MetricSeriesRead"  # GetMetricData bills per series requested

# ---- analyze (functions/analyze) and confirm (functions/recommend)
FINDINGS: Final = "Findings"  # by ACTION (including "none")
PROPOSED_SAVINGS: Final = "ProposedSavingsUSDPerMonth"  # the run's plans, every target
ACTIONS_PROPOSED: Final = "ActionsProposed"  # this run's actions (after the blast-radius limits)
MOVES_CONFIRMED: Final = "MovesConfirmed"

# ---- approvals (functions/request_approval, slack_interactions, notify)
APPROVALS: Final = "Approvals"  # by OUTCOME: approved, rejected (a decision), expired (the summary)
APPROVALS_ALREADY_OPEN: Final = "ApprovalsAlreadyOpen"
SLACK_REQUESTS_REFUSED: Final = "SlackRequestsRefused"  # an unverifiable signature or a stale timestamp

# ---- apply (functions/apply)
APPLIES: Final = "Applies"  # by OUTCOME: the ActionResult outcome of each apply execution; `undone` an undo
ROLLBACKS: Final = "Rollbacks"  # changes rolled back, serving as before (the rollbacks alarm)
REALISED_SAVINGS: Final = "RealisedSavingsUSDPerMonth"  # the monthly saving of each change verified applied

# ---- notify
MESSAGES_SENT: Final = "MessagesSent"

# A rollback that does not settle is no data point: RollbackFailed fails the apply execution (after the
# workflow's retries, so a per-invocation count would overcount), which the apply workflow's
# ExecutionsFailed alarm reports; `endpoint-optimizer undo ACTION_ID` finishes it.

# The metric counted by a category, and that category's dimension.
BY_DIMENSION: Final[dict[str, str]] = {FINDINGS: ACTION, APPROVALS: OUTCOME, APPLIES: OUTCOME}

ALL: Final = (
    TARGETS,
    ENDPOINTS_SCANNED,
    ENDPOINTS_NOT_SCANNED,
    TARGETS_NOT_SCANNED,
    SCANS_CUT_BY_TIME_BUDGET,
    SCAN_API_CALLS,
    METRIC_SERIES_READ,
    FINDINGS,
    PROPOSED_SAVINGS,
    ACTIONS_PROPOSED,
    MOVES_CONFIRMED,
    APPROVALS,
    APPROVALS_ALREADY_OPEN,
    SLACK_REQUESTS_REFUSED,
    APPLIES,
    ROLLBACKS,
    REALISED_SAVINGS,
    MESSAGES_SENT,
)
