"""The SAM template and the state machine definitions, checked as one contract.

These tests read `template.yaml` (with the CloudFormation tags resolved by cfn-lint's loader) and every
`statemachines/*.asl.json`, and assert the properties the rest of the project relies on: names, settings,
least-privilege IAM and bounded, retried workflow states. No AWS, no network.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
MEMBER_ROLE_TEMPLATE_PATH = ROOT / "docs" / "member-account-role.yaml"
STATEMACHINES_DIR = ROOT / "statemachines"

FUNCTION_TYPE = "AWS::Serverless::Function"
STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"

LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)

# First words a state name may start with: states are named as verb phrases ("Wait for approval").
STATE_NAME_VERBS = frozenset(
    {
        "Act", "Analyze", "Apply", "Ask", "Check", "Choose", "Collect", "Confirm", "Create", "Decide", "Delete",
        "Describe", "Fail", "Find", "Finish", "Load", "Mark", "Notify", "Park", "Pick", "Poll", "Prepare", "Process",
        "Recommend", "Record", "Report", "Request", "Restore", "Resume", "Roll", "Run", "Save", "Scale",
        "Scan", "Send", "Skip", "Snapshot", "Start", "Stop", "Store", "Succeed", "Summarize", "Update", "Verify",
        "Wait",
    }
)  # fmt: skip

# Actions that do not support resource-level permissions: the only ones allowed on Resource "*".
WILDCARD_RESOURCE_ACTIONS = frozenset(
    {
        "sagemaker:ListEndpoints",
        "sagemaker:ListInferenceComponents",
        "sagemaker:ListInferenceRecommendationsJobs",
        "servicequotas:ListAWSDefaultServiceQuotas",
        "tag:GetResources",
        "cloudwatch:GetMetricData",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScheduledActions",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:DeleteScheduledAction",
        "pricing:GetProducts",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

SAGEMAKER_READ_PREFIXES = ("Describe", "List", "Get", "Search")


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att_arn(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


COMMON_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "endpoint-optimizer",
    "POWERTOOLS_METRICS_NAMESPACE": "EndpointOptimizer",
    "LOG_LEVEL": "INFO",
}

# Function logical id -> (code directory, environment variables the handler reads).
EXPECTED_FUNCTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "TargetsFunction": (
        "functions/targets",
        {
            "TARGETS": ref("Targets"),
            "HOME_ACCOUNT_ID": ref("AWS::AccountId"),
            "PARTITION": ref("AWS::Partition"),
            "MEMBER_ROLE_NAME": ref("MemberRoleName"),
            "MEMBER_EXTERNAL_ID": ref("MemberExternalId"),
        },
    ),
    "ScanFunction": (
        "functions/scan",
        {
            "LOOKBACK_DAYS": ref("LookbackDays"),
            "ARTIFACT_BUCKET": ref("ArtifactBucket"),
            "TABLE_NAME": ref("StateTable"),
            "SCAN_MAX_WORKERS": "8",
        },
    ),
    "AnalyzeFunction": (
        "functions/analyze",
        {
            "MODE": ref("Mode"),
            "LOOKBACK_DAYS": ref("LookbackDays"),
            "GRACE_DAYS": ref("GraceDays"),
            "SKIP_TAG_KEY": ref("SkipTagKey"),
            "MAX_ACTIONS_PER_RUN": ref("MaxActionsPerRun"),
            "APPROVAL_TIMEOUT_HOURS": ref("ApprovalTimeoutHours"),
            "MAX_MONTHLY_CHANGE_USD": ref("MaxMonthlyChangeUSD"),
            "PRICE_DISCOUNT_PERCENT": ref("PriceDiscountPercent"),
            "ARTIFACT_BUCKET": ref("ArtifactBucket"),
            "HOME_ACCOUNT_ID": ref("AWS::AccountId"),
            "TABLE_NAME": ref("StateTable"),
            "REJECTION_COOLDOWN_DAYS": ref("RejectionCooldownDays"),
            "MAX_RECOMMENDER_SPEND_USD": ref("MaxRecommenderSpendUSD"),
        },
    ),
    "NotifyFunction": (
        "functions/notify",
        {
            "TOPIC_ARN": ref("NotificationTopic"),
            "SLACK_WEBHOOK_SECRET_ARN": ref("SlackWebhookSecret"),
            "TABLE_NAME": ref("StateTable"),  # the ledger's month index: realised savings in the summary
        },
    ),
    "RequestApprovalFunction": (
        "functions/request_approval",
        {
            "TABLE_NAME": ref("StateTable"),
            "SLACK_WEBHOOK_SECRET_ARN": ref("SlackWebhookSecret"),
            "SLACK_APPROVER_IDS": ref("SlackApproverIds"),
        },
    ),
    "SlackInteractionsFunction": (
        "functions/slack_interactions",
        {
            "TABLE_NAME": ref("StateTable"),
            "SLACK_SIGNING_SECRET_ARN": ref("SlackSigningSecret"),
            "SLACK_BOT_TOKEN_SECRET_ARN": ref("SlackBotTokenSecret"),
            "SLACK_APPROVER_IDS": ref("SlackApproverIds"),
        },
    ),
    "ApplyFunction": (
        "functions/apply",
        {"TABLE_NAME": ref("StateTable"), "SKIP_TAG_KEY": ref("SkipTagKey"), "MODE": ref("Mode")},
    ),
    "RecommendFunction": (
        "functions/recommend",
        {
            "ARTIFACT_BUCKET": ref("ArtifactBucket"),
            "RECOMMENDER_ROLE_ARN": get_att_arn("RecommenderRole"),
            "RECOMMENDER_REUSE_DAYS": ref("RecommenderReuseDays"),
            "RECOMMENDER_POLL_SECONDS": ref("RecommenderPollSeconds"),
            "LOOKBACK_DAYS": ref("LookbackDays"),
        },
    ),
}

# Parameter -> (Type, Default as CloudFormation sees it: a string).
EXPECTED_PARAMETERS = {
    "Mode": ("String", "approve"),
    "ScheduleExpression": ("String", "rate(1 day)"),
    "LookbackDays": ("Number", "14"),
    "GraceDays": ("Number", "7"),
    "SkipTagKey": ("String", "endpoint-optimizer:skip"),
    "ApprovalTimeoutHours": ("Number", "24"),
    "SlackApproverIds": ("String", ""),
    "MaxActionsPerRun": ("Number", "5"),
    "NotificationEmail": ("String", ""),
    "Targets": ("String", ""),
    "MemberRoleName": ("String", "endpoint-optimizer-read"),
    "MemberExternalId": ("String", ""),
    "MaxMonthlyChangeUSD": ("Number", "5000"),
    "PriceDiscountPercent": ("Number", "0"),
    "RejectionCooldownDays": ("Number", "14"),
    "LogRetentionDays": ("Number", "90"),
    "MaxRecommenderJobs": ("Number", "2"),
    "MaxRecommenderSpendUSD": ("Number", "20"),
    "RecommenderReuseDays": ("Number", "30"),
    "RecommenderPollSeconds": ("Number", "300"),
}


# ----------------------------------------------------------------------------------------------- loading


@functools.cache
def load_template() -> dict[str, Any]:
    template: dict[str, Any] = cfn_yaml.load(str(TEMPLATE_PATH))
    return template


@functools.cache
def load_asl(path: Path) -> dict[str, Any]:
    asl: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return asl


def resources_of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = load_template()["Resources"]
    return {name: res for name, res in resources.items() if res["Type"] == resource_type}


def asl_files() -> list[Path]:
    return sorted(STATEMACHINES_DIR.glob("*.asl.json"))


def template_state_machines() -> dict[str, dict[str, Any]]:
    return resources_of_type(STATE_MACHINE_TYPE)


def walk_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Yield (name, state, the States map it lives in), descending into Map and Parallel states."""
    for name, state in states.items():
        yield name, state, states
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            yield from walk_states(processor.get("States", {}))
        elif state["Type"] == "Parallel":
            for branch in state.get("Branches", []):
                yield from walk_states(branch["States"])


def is_lambda_task(state: dict[str, Any]) -> bool:
    resource = str(state.get("Resource", ""))
    return state["Type"] == "Task" and (
        ":::lambda:invoke" in resource or ":function:" in resource or resource.endswith("FunctionArn}")
    )


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def inline_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline IAM statements of a SAM function or state machine (policy templates are SAM's own)."""
    statements: list[dict[str, Any]] = []
    for policy in as_list(resource["Properties"].get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            statements.extend(as_list(policy["Statement"]))
    return statements


def all_inline_statements() -> list[tuple[str, dict[str, Any]]]:
    owners = {**resources_of_type(FUNCTION_TYPE), **template_state_machines()}
    return [(name, statement) for name, res in owners.items() for statement in inline_statements(res)]


def function_environment(name: str) -> dict[str, Any]:
    globals_env = load_template()["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    own_env = resources_of_type(FUNCTION_TYPE)[name]["Properties"].get("Environment", {}).get("Variables", {})
    return {**globals_env, **own_env}


# ------------------------------------------------------------------------ state machines vs the template


@pytest.mark.parametrize("logical_id", sorted(template_state_machines()))
def test_every_asl_placeholder_has_a_definition_substitution_and_vice_versa(logical_id: str) -> None:
    """GIVEN a state machine in the template and its ASL file
    WHEN the ${...} placeholders of the ASL are compared with the DefinitionSubstitutions
    THEN both sets are equal, and each substitution is the ARN of a function of this template or a parameter.
    """
    properties = template_state_machines()[logical_id]["Properties"]
    asl_text = (ROOT / properties["DefinitionUri"]).read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{([^}]+)\}", asl_text))
    substitutions = dict(properties.get("DefinitionSubstitutions", {}))

    assert placeholders, "the ASL uses no placeholders: is this the right file?"
    assert placeholders - substitutions.keys() == set(), "placeholders without a substitution"
    assert substitutions.keys() - placeholders == set(), "substitutions no placeholder uses"
    functions = resources_of_type(FUNCTION_TYPE)
    for key, value in substitutions.items():
        assert isinstance(value, dict), f"{key} is not an intrinsic function"
        if "Ref" in value:  # a parameter, or another state machine (the apply workflow, started by ARN)
            assert value["Ref"] in {**load_template()["Parameters"], **template_state_machines()}, key
            continue
        assert "Fn::GetAtt" in value, f"{key} is not a !GetAtt"
        target, attribute = value["Fn::GetAtt"]
        assert target in functions, f"{key} points at {target}, which is not a function"
        assert attribute == "Arn"


def test_the_state_walker_sees_tasks_inside_map_item_processors() -> None:
    """GIVEN the optimize workflow, whose approval and apply steps run inside a Map
    WHEN its states are walked
    THEN the nested task states are found (so the checks below are not vacuous).
    """
    names = {name for name, _, _ in walk_states(load_asl(STATEMACHINES_DIR / "optimize.asl.json")["States"])}

    assert {"Scan targets", "Scan target", "Wait for approval", "Apply action"} <= names


@pytest.mark.parametrize("asl_path", asl_files(), ids=lambda path: path.name)
def test_every_lambda_task_retries_lambda_service_errors_and_throttling(asl_path: Path) -> None:
    """GIVEN every Lambda Task state, including those inside Map and Parallel states
    WHEN its Retry rules are read
    THEN the four transient Lambda errors are each covered by a retrier that retries at least once.
    """
    lambda_tasks = [(n, s) for n, s, _ in walk_states(load_asl(asl_path)["States"]) if is_lambda_task(s)]

    for name, state in lambda_tasks:
        retried: set[str] = set()
        for retrier in state.get("Retry", []):
            if retrier.get("MaxAttempts", 3) > 0:
                errors = set(retrier["ErrorEquals"])
                retried |= set(LAMBDA_SERVICE_ERRORS) if "States.ALL" in errors else errors
        missing = set(LAMBDA_SERVICE_ERRORS) - retried
        assert not missing, f"{asl_path.name}: state {name!r} does not retry {sorted(missing)}"


@pytest.mark.parametrize("asl_path", asl_files(), ids=lambda path: path.name)
def test_every_task_token_wait_is_bounded_and_its_timeout_is_caught(asl_path: Path) -> None:
    """GIVEN every .waitForTaskToken state
    WHEN its timeout and Catch rules are read
    THEN it has TimeoutSeconds or TimeoutSecondsPath, and an explicit States.Timeout catcher that leads to a
    state of the same scope (an expired approval goes somewhere on purpose).
    """
    for name, state, scope in walk_states(load_asl(asl_path)["States"]):
        if not str(state.get("Resource", "")).endswith(".waitForTaskToken"):
            continue
        assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name!r} can wait forever"
        timeout_catchers = [c for c in state.get("Catch", []) if "States.Timeout" in c["ErrorEquals"]]
        assert timeout_catchers, f"{name!r} has no Catch for States.Timeout"
        assert timeout_catchers[0]["Next"] in scope, f"{name!r} catches its timeout into a missing state"


@pytest.mark.parametrize("asl_path", asl_files(), ids=lambda path: path.name)
def test_every_state_name_is_a_verb_phrase(asl_path: Path) -> None:
    """GIVEN every state of every ASL file
    WHEN the first word of its name is read
    THEN it is one of the project's verbs ("Wait for approval", "Record expiry").
    """
    not_verbs = [
        name
        for name, _, _ in walk_states(load_asl(asl_path)["States"])
        if name.split(" ", 1)[0] not in STATE_NAME_VERBS
    ]

    assert not_verbs == [], f"{asl_path.name}: state names not starting with a known verb: {not_verbs}"


# ------------------------------------------------------------------------------------------------- IAM


def test_no_statement_grants_every_action_of_a_service() -> None:
    """GIVEN every inline IAM statement of the functions and the state machines
    WHEN its actions are read
    THEN none is "*" or "<service>:*".
    """
    statements = all_inline_statements()
    broad = [
        (owner, action)
        for owner, statement in statements
        for action in as_list(statement.get("Action", []))
        if action == "*" or str(action).endswith(":*")
    ]

    assert statements, "no inline statements found: is the template loaded?"
    assert broad == []


def test_no_statement_allows_a_sagemaker_write_action_on_every_resource() -> None:
    """GIVEN every Allow statement on Resource "*"
    WHEN its SageMaker actions are read
    THEN each is a read (Describe, List, Get, Search): writes are always scoped to endpoint ARNs.
    """
    writes_on_everything = [
        (owner, action)
        for owner, statement in all_inline_statements()
        if statement["Effect"] == "Allow" and "*" in as_list(statement.get("Resource"))
        for action in as_list(statement.get("Action", []))
        if str(action).startswith("sagemaker:")
        and not str(action).removeprefix("sagemaker:").startswith(SAGEMAKER_READ_PREFIXES)
    ]

    assert writes_on_everything == []


def test_resource_wildcards_are_used_only_for_actions_without_resource_level_permissions() -> None:
    """GIVEN every Allow statement on Resource "*"
    WHEN its actions are read
    THEN each is in the short list of actions that IAM cannot scope to a resource.
    """
    unscoped = [
        (owner, action)
        for owner, statement in all_inline_statements()
        if statement["Effect"] == "Allow" and "*" in as_list(statement.get("Resource"))
        for action in as_list(statement.get("Action", []))
        if action not in WILDCARD_RESOURCE_ACTIONS
    ]

    assert unscoped == []


def test_the_apply_function_is_denied_deleting_or_updating_endpoints_tagged_skip() -> None:
    """GIVEN the apply function's policy
    WHEN its Deny statements are read
    THEN DeleteEndpoint and UpdateEndpoint are denied on endpoints tagged with the default skip key = true.
    """
    denies = [
        s
        for s in inline_statements(resources_of_type(FUNCTION_TYPE)["ApplyFunction"])
        if s["Effect"] == "Deny"
    ]
    skip_tag_key = EXPECTED_PARAMETERS["SkipTagKey"][1]

    guarded = [
        s
        for s in denies
        if {"sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpoint"} <= set(as_list(s["Action"]))
        and any(
            conditions.get(f"aws:ResourceTag/{skip_tag_key}") == "true"
            for conditions in s.get("Condition", {}).values()
        )
    ]
    assert guarded, "no Deny guards endpoints tagged skip"


def test_slack_interactions_can_resume_only_the_optimize_state_machine() -> None:
    """GIVEN the Slack interactions function, which sends task success/failure
    WHEN the resource of that permission is compared with the state machine's Name
    THEN it is exactly that state machine's ARN (built as a string to avoid a circular dependency).
    """
    statements = inline_statements(resources_of_type(FUNCTION_TYPE)["SlackInteractionsFunction"])
    resume = [s for s in statements if "states:SendTaskSuccess" in as_list(s["Action"])]
    machine_name = template_state_machines()["OptimizeStateMachine"]["Properties"]["Name"]["Fn::Sub"]

    assert len(resume) == 1
    assert set(as_list(resume[0]["Action"])) == {"states:SendTaskSuccess", "states:SendTaskFailure"}
    state_machine_arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
    assert resume[0]["Resource"] == {"Fn::Sub": state_machine_arn + machine_name}


def test_slack_interactions_may_start_and_read_undo_executions_of_the_apply_workflow_only() -> None:
    """GIVEN the Slack interactions function (its Undo button, act/slack_undo.py)
    WHEN its Step Functions grants besides resuming the optimize workflow are listed
    THEN it may start the apply workflow and read its undo-* executions (a failed undo is retried under
    the next name), nothing else."""
    statements = inline_statements(resources_of_type(FUNCTION_TYPE)["SlackInteractionsFunction"])
    prefix = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
    granted = sorted(
        (action, json.dumps(statement["Resource"]))
        for statement in statements
        for action in as_list(statement["Action"])
        if str(action).startswith("states:")
        and action not in ("states:SendTaskSuccess", "states:SendTaskFailure")
    )
    assert granted == [
        (
            "states:DescribeExecution",
            json.dumps({"Fn::Sub": f"{prefix}execution:${{AWS::StackName}}-apply:undo-*"}),
        ),
        ("states:StartExecution", json.dumps({"Fn::Sub": f"{prefix}stateMachine:${{AWS::StackName}}-apply"})),
    ]


def test_request_approval_can_end_its_own_wait_and_nothing_else_in_step_functions() -> None:
    """A card skipped because another approval is open ends its wait with SendTaskFailure, only on the
    optimize workflow (approvals.request_approval)."""
    statements = inline_statements(resources_of_type(FUNCTION_TYPE)["RequestApprovalFunction"])
    states = [s for s in statements if any(a.startswith("states:") for a in as_list(s["Action"]))]
    machine_name = template_state_machines()["OptimizeStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    assert [as_list(s["Action"]) for s in states] == [["states:SendTaskFailure"]]
    state_machine_arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
    assert states[0]["Resource"] == {"Fn::Sub": state_machine_arn + machine_name}


def bucket_object_arns(statement: dict[str, Any]) -> list[str]:
    """`${ArtifactBucket.Arn}/<prefix>*` resources of a statement, as their `<prefix>*` part."""
    resources = as_list(statement.get("Resource"))
    prefix = "${ArtifactBucket.Arn}/"
    return [
        r["Fn::Sub"].removeprefix(prefix)
        for r in resources
        if isinstance(r, dict) and str(r.get("Fn::Sub", "")).startswith(prefix)
    ]


def s3_grants(function: str) -> set[tuple[str, str]]:
    """(action, object key pattern) pairs a function may use on the artifact bucket."""
    statements = inline_statements(resources_of_type(FUNCTION_TYPE)[function])
    return {
        (action, pattern)
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        if str(action).startswith("s3:")
        for pattern in bucket_object_arns(statement)
    }


def test_each_function_reaches_only_its_own_prefix_of_the_artifact_bucket() -> None:
    """GIVEN the functions that use the artifact bucket
    WHEN their S3 permissions are read
    THEN scan only writes snapshots, analyze only reads snapshots and writes plans, recommend writes the
    payloads it packs and folds confirmations into the plans, and no other function touches the bucket.
    """
    grants = {name: s3_grants(name) for name in resources_of_type(FUNCTION_TYPE)}

    assert grants.pop("ScanFunction") == {("s3:PutObject", "snapshots/*")}
    assert grants.pop("AnalyzeFunction") == {("s3:GetObject", "snapshots/*"), ("s3:PutObject", "plans/*")}
    assert grants.pop("RecommendFunction") == {
        ("s3:PutObject", "recommender/*"),
        ("s3:GetObject", "plans/*"),
        ("s3:PutObject", "plans/*"),
    }
    assert all(not granted for granted in grants.values()), grants


def test_the_analyze_function_reads_prices_and_otherwise_only_touches_its_bucket_and_price_cache() -> None:
    """GIVEN the analyze function (computation over snapshots, plans written to S3, live prices)
    WHEN its policies are read
    THEN it may read prices, get/put the price cache item and batch-read approval locks and rejections in
    the state table (which items: see the key plan test below), and S3 objects of the artifact bucket;
    nothing else.
    """
    statements = inline_statements(resources_of_type(FUNCTION_TYPE)["AnalyzeFunction"])

    assert statements
    for statement in statements:
        actions = {str(a) for a in as_list(statement["Action"])}
        services = {action.split(":")[0] for action in actions}
        if services == {"s3"}:
            assert len(bucket_object_arns(statement)) == len(as_list(statement["Resource"])) > 0
        elif services == {"pricing"}:
            assert actions == {"pricing:GetProducts"}
        else:
            assert actions <= {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"}
            assert statement["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}


def test_the_scan_function_may_assume_only_the_member_role() -> None:
    """GIVEN the scan function, which reads member accounts through their read-only role
    WHEN its sts:AssumeRole permission is read
    THEN it is one Allow on roles named MemberRoleName (in any account), and no other statement allows
    an sts action.
    """
    statements = inline_statements(resources_of_type(FUNCTION_TYPE)["ScanFunction"])
    sts = [s for s in statements if any(str(a).startswith("sts:") for a in as_list(s["Action"]))]

    assert len(sts) == 1
    assert (sts[0]["Effect"], as_list(sts[0]["Action"])) == ("Allow", ["sts:AssumeRole"])
    assert sts[0]["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
    others = [
        (name, s)
        for name, s in all_inline_statements()
        if name != "ScanFunction" and any(str(a).startswith("sts:") for a in as_list(s.get("Action", [])))
    ]
    assert others == []


def test_the_artifact_bucket_is_private_encrypted_tls_only_and_expires_objects() -> None:
    """GIVEN the artifact bucket and its policy
    WHEN their settings are read
    THEN every public access block is on, objects are encrypted and owned by the bucket owner, they expire,
    and the bucket policy denies any request without TLS.
    """
    resources = load_template()["Resources"]
    bucket = resources["ArtifactBucket"]["Properties"]
    policy = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy")

    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert all(rule["ExpirationInDays"] <= 365 for rule in bucket["LifecycleConfiguration"]["Rules"])
    assert policy["Bucket"] == ref("ArtifactBucket")
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "Allow" not in {s["Effect"] for s in policy["PolicyDocument"]["Statement"]}


def test_the_state_machine_may_run_and_supervise_only_its_own_distributed_map_children() -> None:
    """GIVEN the optimize state machine, whose Scan targets map runs in distributed mode
    WHEN its Step Functions permissions are read
    THEN it may start executions of itself only, and describe or stop only its own child executions.
    """
    machine = template_state_machines()["OptimizeStateMachine"]
    name = machine["Properties"]["Name"]["Fn::Sub"]
    states = {
        action: statement["Resource"]
        for statement in inline_statements(machine)
        for action in as_list(statement["Action"])
        if str(action).startswith("states:")
    }
    prefix = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"

    assert states == {
        "states:StartExecution": {"Fn::Sub": f"{prefix}stateMachine:{name}"},
        "states:DescribeExecution": {"Fn::Sub": f"{prefix}execution:{name}/*"},
        "states:StopExecution": {"Fn::Sub": f"{prefix}execution:{name}/*"},
    }


def test_targets_are_scanned_by_a_distributed_map_that_tolerates_no_failure() -> None:
    """GIVEN the optimize workflow
    WHEN its Scan targets state is read
    THEN it is a Map in DISTRIBUTED mode (standard child executions) over the targets, with bounded
    concurrency, no tolerated failure, and one retried Lambda task per target.
    """
    state = load_asl(STATEMACHINES_DIR / "optimize.asl.json")["States"]["Scan targets"]

    assert state["Type"] == "Map"
    assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert 1 <= state["MaxConcurrency"] <= 40
    assert state["ToleratedFailurePercentage"] == 0
    assert state["ItemSelector"]["target.$"] == "$$.Map.Item.Value"
    (task,) = state["ItemProcessor"]["States"].values()
    assert task["Parameters"]["FunctionName"] == "${ScanFunctionArn}"


# ----------------------------------------------------------------------- the member-account role (StackSet)

READ_ONLY_PREFIXES = ("List", "Describe", "Get")


@functools.cache
def load_member_template() -> dict[str, Any]:
    template: dict[str, Any] = cfn_yaml.load(str(MEMBER_ROLE_TEMPLATE_PATH))
    return template


def member_role() -> dict[str, Any]:
    (role,) = load_member_template()["Resources"].values()
    assert role["Type"] == "AWS::IAM::Role"
    properties: dict[str, Any] = role["Properties"]
    return properties


def member_role_statements() -> list[dict[str, Any]]:
    return [s for p in member_role()["Policies"] for s in as_list(p["PolicyDocument"]["Statement"])]


def test_the_member_role_grants_reads_only_by_name() -> None:
    """GIVEN the member-account role template (deployed as a StackSet)
    WHEN the actions of its policies are read
    THEN every one is a List/Describe/Get on endpoints, their tags, scaling or metrics, all allowed, none a
    wildcard, and the role has no managed policy that could add more (which reads exactly:
    test_each_functions_sagemaker_and_scaling_permissions_are_exactly_what_the_registry_derives).
    """
    statements = member_role_statements()
    actions = {str(a) for s in statements for a in as_list(s["Action"])}

    assert actions
    assert all(a.startswith(ENDPOINT_SERVICES) for a in actions)
    assert {s["Effect"] for s in statements} == {"Allow"}
    assert all(a.split(":", 1)[1].startswith(READ_ONLY_PREFIXES) for a in actions)
    assert "ManagedPolicyArns" not in member_role()
    assert not any("NotAction" in s or "*" in a for s in statements for a in as_list(s["Action"]))


def test_the_member_role_trusts_only_the_optimizer_account_and_requires_the_external_id() -> None:
    """GIVEN the member role's trust policy
    WHEN its statements are read
    THEN the only one allows sts:AssumeRole to the optimizer account, on condition that the caller presents
    the ExternalId parameter, which has no default (each installation chooses its own).
    """
    (trust,) = as_list(member_role()["AssumeRolePolicyDocument"]["Statement"])
    parameters = load_member_template()["Parameters"]

    assert (trust["Effect"], trust["Action"]) == ("Allow", "sts:AssumeRole")
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${OptimizerAccountId}:root"}}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": ref("ExternalId")}}
    assert "Default" not in parameters["ExternalId"] and "Default" not in parameters["OptimizerAccountId"]


# ------------------------------------------------------------ IAM derived from the action registry
# The services through which the optimizer reads and changes endpoints: what each function and the member
# role hold of them is derived from endpoint_optimizer/registry.py (every rung's reads and writes, and what
# every decision reads). A function's own plumbing (its state table, the artifact bucket, the member role
# it assumes, prices, the workflow) has the tests above and below.
# servicequotas: the serverless quotas the serverless rung is judged by (read by the scan, re-checked by apply).
ENDPOINT_SERVICES = ("sagemaker:", "tag:", "application-autoscaling:", "cloudwatch:", "servicequotas:")
# The only other services the two functions that touch endpoints may use.
OWN_PLUMBING = {
    "ScanFunction": ("sts:", "s3:", "dynamodb:"),
    # scheduler:, s3:ListBucket and ecr:DescribeImages: night parking's schedules and its morning restore's
    # checks (declared in the schedule rung, compared with the registry above).
    "ApplyFunction": (
        "dynamodb:",
        "s3:GetObject",
        "iam:PassRole",
        "servicequotas:",
        "scheduler:",
        "s3:ListBucket",
        "ecr:DescribeImages",
    ),
    "RecommendFunction": ("s3:", "iam:PassRole"),
}
MEMBER_ROLE = "the member role (docs/member-account-role.yaml)"


def allowed_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {str(a) for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def endpoint_grants(grantee: str) -> set[str]:
    """What `grantee` (a function of the template, or MEMBER_ROLE) is allowed on endpoints and their
    scaling, tags and metrics -- and, for apply, everything but its state table (a change's quota check,
    sample payload and PassRole are the actions' own, declared in their rungs)."""
    if grantee == MEMBER_ROLE:
        statements = member_role_statements()
    else:
        statements = inline_statements(resources_of_type(FUNCTION_TYPE)[grantee])
    if grantee == "ApplyFunction":
        return {action for action in allowed_actions(statements) if not action.startswith("dynamodb:")}
    return {action for action in allowed_actions(statements) if action.startswith(ENDPOINT_SERVICES)}


def derived_from_registry(grantee: str) -> frozenset[str]:
    """What the registry says `grantee` calls: the scan reads (here and through the member role) what the
    decisions read; apply calls what the applied actions call; recommend calls what confirming the moves
    calls; no other function touches endpoints."""
    from endpoint_optimizer.registry import apply_permissions, confirm_permissions, scan_reads

    if grantee in ("ScanFunction", MEMBER_ROLE):
        return scan_reads()
    if grantee == "ApplyFunction":
        return apply_permissions()
    if grantee == "RecommendFunction":
        return confirm_permissions()
    return frozenset()


@pytest.mark.parametrize("grantee", [*sorted(resources_of_type(FUNCTION_TYPE)), MEMBER_ROLE])
def test_each_functions_sagemaker_and_scaling_permissions_are_exactly_what_the_registry_derives(
    grantee: str,
) -> None:
    """GIVEN the action registry (each rung's reads and writes, and what every decision reads) and a
    function of the template, or the member-account role
    WHEN its Allow statements on SageMaker, tagging, Application Auto Scaling and CloudWatch are read
    THEN they grant exactly what the registry derives for it: nothing the code calls is missing, nothing
    granted is unused (the scan and the member role read alike, so a target reads alike wherever it is).
    """
    granted = endpoint_grants(grantee)
    derived = derived_from_registry(grantee)

    assert sorted(derived - granted) == [], "derived from the registry but not granted"
    assert sorted(granted - derived) == [], "granted but derived from no rung"


@pytest.mark.parametrize("function", sorted(OWN_PLUMBING))
def test_the_functions_that_touch_endpoints_hold_nothing_else_but_their_own_plumbing(function: str) -> None:
    """GIVEN the scan, apply and recommend functions
    WHEN their Allow statements are read
    THEN every action is on endpoints (derived from the registry, above) or on their own plumbing.
    """
    granted = allowed_actions(inline_statements(resources_of_type(FUNCTION_TYPE)[function]))

    assert granted
    assert {a for a in granted if not a.startswith((*ENDPOINT_SERVICES, *OWN_PLUMBING[function]))} == set()


def test_the_registry_derives_reads_for_the_scan_and_writes_for_apply() -> None:
    """GIVEN the action registry
    WHEN the scan's and the apply function's permissions are derived
    THEN the scan's are reads only and include what every decision and each rung reads; apply's include
    the applied rungs' writes (so the tests above compare non-empty sets).
    """
    from endpoint_optimizer.decide.ladder import GUARD_READS
    from endpoint_optimizer.registry import ACTIONS, apply_permissions, scan_reads

    reads = scan_reads()
    assert set(GUARD_READS) <= reads
    assert all(set(action.rung.reads) <= reads for action in ACTIONS.values())
    assert all(a.split(":", 1)[1].startswith(READ_ONLY_PREFIXES) for a in reads)
    assert set(ACTIONS["park"].rung.writes) <= apply_permissions()
    assert any(not a.split(":", 1)[1].startswith(READ_ONLY_PREFIXES) for a in apply_permissions())


def test_the_member_role_name_matches_the_stacks_default() -> None:
    """GIVEN the member template and the app template
    WHEN their role name parameters are compared
    THEN the defaults are equal, so the scan function may assume the role the StackSet creates.
    """
    member = load_member_template()["Parameters"]["RoleName"]
    stack = load_template()["Parameters"]["MemberRoleName"]

    assert member["Default"] == stack["Default"]
    assert member_role()["RoleName"] == ref("RoleName")


# ------------------------------------------------------------------------------------------- functions


def test_the_template_declares_exactly_the_expected_functions() -> None:
    """GIVEN the template
    WHEN its functions are listed
    THEN they are the eight whose logical ids the state machine, the harness and the docs use.
    """
    assert set(resources_of_type(FUNCTION_TYPE)) == set(EXPECTED_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_every_function_runs_app_handler_from_its_existing_code_directory(name: str) -> None:
    """GIVEN a function of the template
    WHEN its Handler and CodeUri are read
    THEN the handler is app.handler and the CodeUri is the expected directory, which exists.
    """
    properties = resources_of_type(FUNCTION_TYPE)[name]["Properties"]
    code_dir = EXPECTED_FUNCTIONS[name][0]

    assert properties["Handler"] == "app.handler"
    assert properties["CodeUri"].rstrip("/") == code_dir
    assert (ROOT / code_dir).is_dir()


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_every_function_gets_the_environment_its_settings_read(name: str) -> None:
    """GIVEN a function of the template, with the Globals environment merged in as SAM does
    WHEN its environment variables are read
    THEN the common Powertools variables and the function's own variables are set to the expected values.
    """
    environment = function_environment(name)

    assert environment.items() >= {**COMMON_ENVIRONMENT, **EXPECTED_FUNCTIONS[name][1]}.items()


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_environment_values_are_literals_refs_or_arns_so_the_harness_can_resolve_them(name: str) -> None:
    """GIVEN a function's environment
    WHEN each value is read
    THEN it is a literal string, a !Ref or a !GetAtt X.Arn (the forms the test harness resolves).
    """
    for key, value in function_environment(name).items():
        simple = (
            isinstance(value, str)
            or (isinstance(value, dict) and set(value) == {"Ref"})
            or (isinstance(value, dict) and set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn")
        )
        assert simple, f"{name}: {key} = {value!r}"


def test_every_function_runs_python_3_12_on_arm64_with_the_shared_layer_and_tracing() -> None:
    """GIVEN the Globals of the template
    WHEN the function defaults are read
    THEN they select python3.12 on arm64, active tracing and the endpoint optimizer layer.
    """
    defaults = load_template()["Globals"]["Function"]

    assert defaults["Runtime"] == "python3.12"
    assert defaults["Architectures"] == ["arm64"]
    assert defaults["Tracing"] == "Active"
    assert defaults["Layers"] == [ref("EndpointOptimizerLayer")]
    for name, function in resources_of_type(FUNCTION_TYPE).items():
        assert {"Runtime", "Architectures", "Layers"}.isdisjoint(function["Properties"]), name


# What the Lambda python3.12 runtime provides: boto3 and what it needs. A copy in the layer would shadow it.
RUNTIME_PROVIDED_PACKAGES = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)


def locked_requirements(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, sha256 hashes) of a pip requirements file written with --generate-hashes."""
    text = re.sub(r"\\\n", " ", lock.read_text(encoding="utf-8"))
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    locked: dict[str, tuple[str, list[str]]] = {}
    for line in filter(None, lines):
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = [option.removeprefix("--hash=sha256:") for option in options if "sha256" in option]
        locked[re.sub(r"[-_.]+", "-", name).lower()] = (version, hashes)
    return locked


def test_the_layer_pins_its_dependencies_and_leaves_boto3_to_the_runtime() -> None:
    """GIVEN the layer's build (template Metadata), its Makefile and its lock (requirements.txt, compiled from
    requirements.in)
    WHEN they are read
    THEN the layer is built by its Makefile, which installs the lock with --require-hashes and --no-deps; every
    locked package is pinned with == and has sha256 hashes; none is boto3, botocore or another package the
    runtime provides; and every direct dependency of requirements.in is locked at its pinned version.
    """
    layer = resources_of_type("AWS::Serverless::LayerVersion")["EndpointOptimizerLayer"]
    layer_dir = ROOT / layer["Properties"]["ContentUri"]
    makefile = (layer_dir / "Makefile").read_text(encoding="utf-8")
    locked = locked_requirements(layer_dir / "requirements.txt")
    direct = locked_requirements(layer_dir / "requirements.in")

    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-EndpointOptimizerLayer:" in makefile
    for option in ("--require-hashes", "--no-deps", "-r requirements.txt"):
        assert option in makefile, option
    assert locked
    unpinned = {name for name, (version, hashes) in locked.items() if not version or not hashes}
    assert not unpinned
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for _, hashes in locked.values() for h in hashes)
    assert RUNTIME_PROVIDED_PACKAGES.isdisjoint(locked)
    for name, (version, _) in direct.items():
        base = re.sub(r"\[.*\]", "", name)
        assert locked[base][0] == version, name


# ------------------------------------------------------------------------------- parameters and state


def test_the_template_has_every_setting_parameter_with_its_default() -> None:
    """GIVEN the template's Parameters
    WHEN each expected setting is looked up
    THEN it exists with the expected Type and Default.
    """
    parameters = load_template()["Parameters"]

    actual = {
        name: (parameters[name]["Type"], str(parameters[name].get("Default")))
        for name in EXPECTED_PARAMETERS
        if name in parameters
    }
    assert actual == EXPECTED_PARAMETERS


def test_the_mode_and_approval_timeout_are_bounded() -> None:
    """GIVEN the Mode and ApprovalTimeoutHours parameters
    WHEN their constraints are read
    THEN Mode is one of report/approve/auto and the timeout is 1 to 168 hours (Step Functions allows more,
    Slack buttons should not live for weeks).
    """
    parameters = load_template()["Parameters"]

    assert sorted(parameters["Mode"]["AllowedValues"]) == ["approve", "auto", "report"]
    assert int(parameters["ApprovalTimeoutHours"]["MinValue"]) == 1
    assert int(parameters["ApprovalTimeoutHours"]["MaxValue"]) == 168


def test_the_state_table_has_the_key_and_ttl_the_item_layout_uses() -> None:
    """GIVEN the DynamoDB table holding approvals, snapshots, the ledger and caches
    WHEN its key schema and TTL are read
    THEN the key is pk (hash) + sk (range), both strings, and items expire through `expiration`.
    """
    properties = load_template()["Resources"]["StateTable"]["Properties"]

    assert {(k["AttributeName"], k["KeyType"]) for k in properties["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }
    assert {(a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]} == {
        ("pk", "S"),
        ("sk", "S"),
    }
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


# ------------------------------------------------------------------- least privilege (issue 7, point 7)


def test_the_apply_function_deletes_only_configs_and_models_a_change_made() -> None:
    """GIVEN the apply function, whose changes create eo-* configs, models and alarms and roll back to the
    way back's
    WHEN its Allow statements that delete configs or models, or write alarms, are read
    THEN each is scoped to eo-* names only: it can never delete what the owner deployed.
    """
    statements = [
        s
        for s in inline_statements(resources_of_type(FUNCTION_TYPE)["ApplyFunction"])
        if s["Effect"] == "Allow"
    ]
    deleting = [
        s
        for s in statements
        if {"sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel", "cloudwatch:DeleteAlarms"}
        & set(as_list(s["Action"]))
    ]

    assert len(deleting) == 2, deleting
    for statement in deleting:
        for resource in as_list(statement["Resource"]):
            assert str(resource.get("Fn::Sub", resource)).rsplit(":", 1)[-1].split("/")[-1] == "eo-*", (
                resource
            )


def test_application_autoscaling_writes_are_allowed_only_in_the_sagemaker_namespace() -> None:
    """GIVEN every Allow statement of every function and state machine
    WHEN its Application Auto Scaling actions other than reads are found
    THEN each such statement carries StringEquals application-autoscaling:service-namespace = sagemaker (so
    ECS, DynamoDB, Aurora... scaling stays out of reach), and the apply function has such writes (the
    check is not vacuous).
    """
    writers = [
        (owner, statement)
        for owner, statement in all_inline_statements()
        if statement["Effect"] == "Allow"
        and any(
            str(a).startswith("application-autoscaling:")
            and not str(a).removeprefix("application-autoscaling:").startswith("Describe")
            for a in as_list(statement["Action"])
        )
    ]

    assert {owner for owner, _ in writers} == {"ApplyFunction"}
    for owner, statement in writers:
        condition = statement.get("Condition", {})
        assert condition == {"StringEquals": {"application-autoscaling:service-namespace": "sagemaker"}}, (
            owner,
            statement.get("Sid"),
        )


# What each function reaches in the state table, by partition-key prefix (the key plan of issue 7):
# DynamoDB action -> prefixes. A change here is a change of who may touch what: make it on purpose.
ITEM_ACTIONS = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
    }
)
READ_WRITE = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
STATE_TABLE_KEY_PLAN: dict[str, dict[str, set[str]]] = {
    "TargetsFunction": {},
    # The run summary's realised savings: the ledger's month index, read by Query (never a Scan).
    "NotifyFunction": {"LEDGERMONTH#": {"dynamodb:Query"}},
    "RecommendFunction": {},
    "ScanFunction": {"SCANCACHE#": {"dynamodb:Query", "dynamodb:BatchWriteItem"}},
    "AnalyzeFunction": {
        "PRICECACHE#": {"dynamodb:GetItem", "dynamodb:PutItem"},
        "LOCK#": {"dynamodb:BatchGetItem"},
        "REJECTION#": {"dynamodb:BatchGetItem"},
    },
    "RequestApprovalFunction": {
        "APPROVAL#": {"dynamodb:PutItem", "dynamodb:GetItem"},  # GetItem: the card told the apply outcome
        "LOCK#": {"dynamodb:PutItem", "dynamodb:DeleteItem"},
        "REJECTION#": {"dynamodb:GetItem"},  # the last rejection, shown on the card
    },
    "SlackInteractionsFunction": {
        "APPROVAL#": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        "LOCK#": {"dynamodb:DeleteItem"},
        "REJECTION#": {"dynamodb:PutItem"},
    },
    "ApplyFunction": {
        "APPROVAL#": {"dynamodb:GetItem"},
        "LOCK#": {"dynamodb:DeleteItem"},
        "SNAPSHOT#": READ_WRITE,
        "LEDGER#": READ_WRITE,
        "INTENT#": READ_WRITE,
        "LEDGERMONTH#": {"dynamodb:PutItem"},  # each ledger entry's month-index copy (one transaction)
        # Powertools idempotency records: exactly this partition (static_pk_value, functions/apply/app.py).
        "IDEMPOTENCY#apply": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
    },
}


def table_statements(function: str) -> list[dict[str, Any]]:
    """A function's Allow statements on the state table."""
    return [
        s
        for s in inline_statements(resources_of_type(FUNCTION_TYPE)[function])
        if s["Effect"] == "Allow" and any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
    ]


def leading_keys(statement: dict[str, Any]) -> list[str]:
    patterns = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
    return [str(p) for p in as_list(patterns)] if patterns else []


def may(function: str, action: str, partition_key: str) -> bool:
    """Whether `function`'s policy allows `action` on the state-table item whose pk is `partition_key`
    (IAM's StringLike: `*` matches any run of characters)."""
    return any(
        action in as_list(statement["Action"])
        and any(fnmatch.fnmatchcase(partition_key, pattern) for pattern in leading_keys(statement))
        for statement in table_statements(function)
    )


def test_every_state_table_permission_is_limited_to_item_prefixes_by_leading_keys() -> None:
    """GIVEN every Allow statement with a DynamoDB action
    WHEN its resource, actions and condition are read
    THEN it is on the state table, uses only item actions that name their partition key (no Scan, which
    has none and so would pass a ForAllValues condition unchecked), and carries
    ForAllValues:StringLike dynamodb:LeadingKeys with prefix patterns only.
    """
    statements = [(name, s) for name in EXPECTED_FUNCTIONS for s in table_statements(name)]

    assert statements, "no DynamoDB statements found: is the template loaded?"
    for name, statement in statements:
        where = (name, statement.get("Sid"))
        assert statement["Resource"] == get_att_arn("StateTable"), where
        assert set(as_list(statement["Action"])) <= ITEM_ACTIONS, where
        assert set(statement.get("Condition", {})) == {"ForAllValues:StringLike"}, where
        patterns = leading_keys(statement)
        assert patterns, where
        assert all(re.fullmatch(r"[A-Z]+#(\*|[a-z]+)", p) for p in patterns), (where, patterns)
    state_machine_ddb = [
        s
        for s in inline_statements(template_state_machines()["OptimizeStateMachine"])
        if any(str(a).startswith("dynamodb:") for a in as_list(s["Action"]))
    ]
    assert state_machine_ddb == []


@pytest.mark.parametrize("function", sorted(STATE_TABLE_KEY_PLAN))
def test_each_function_reaches_exactly_its_items_of_the_state_table(function: str) -> None:
    """GIVEN a function and the agreed key plan of the state table
    WHEN its DynamoDB grants are read as (key prefix -> actions)
    THEN they are exactly the plan's: no prefix or action more, none less.
    """
    granted: dict[str, set[str]] = {}
    for statement in table_statements(function):
        for pattern in leading_keys(statement):
            granted.setdefault(pattern.removesuffix("*"), set()).update(
                map(str, as_list(statement["Action"]))
            )

    assert granted == STATE_TABLE_KEY_PLAN[function]


def test_the_internet_facing_slack_function_cannot_touch_the_way_back() -> None:
    """GIVEN the Slack interactions function, reachable from the internet
    WHEN what it may do in the state table is asked item by item
    THEN it may decide an approval, release a lock and record a rejection, and may not read, write or
    delete a snapshot, a ledger entry, an intent or another function's records.
    """
    fn = "SlackInteractionsFunction"

    assert may(fn, "dynamodb:UpdateItem", "APPROVAL#a1b2c3")
    assert may(fn, "dynamodb:DeleteItem", "LOCK#111122223333#eu-west-1#idle")
    assert may(fn, "dynamodb:PutItem", "REJECTION#111122223333#eu-west-1#idle")
    for pk in (
        "SNAPSHOT#idle",
        "LEDGER#idle",
        "INTENT#idle",
        "IDEMPOTENCY#apply",
        "PRICECACHE#x",
        "SCANCACHE#x",
    ):
        for action in sorted(ITEM_ACTIONS):
            assert not may(fn, action, pk), (action, pk)
    assert not may(fn, "dynamodb:PutItem", "APPROVAL#a1b2c3")  # approvals are created by request_approval
    assert not may(fn, "dynamodb:DeleteItem", "APPROVAL#a1b2c3")


def test_only_the_apply_function_writes_the_way_back_and_it_never_deletes_it() -> None:
    """GIVEN every function
    WHEN it is asked whether it may write or delete snapshots and ledger entries
    THEN only apply may write them, and nobody may delete them (DynamoDB TTL retires them).
    """
    for function in EXPECTED_FUNCTIONS:
        for pk in ("SNAPSHOT#idle", "LEDGER#idle"):
            assert may(function, "dynamodb:PutItem", pk) == (function == "ApplyFunction"), (function, pk)
            assert not may(function, "dynamodb:DeleteItem", pk), (function, pk)
            assert not may(function, "dynamodb:BatchWriteItem", pk), (function, pk)


def test_the_apply_idempotency_records_live_under_the_partition_key_the_role_allows() -> None:
    """GIVEN the apply handler's Powertools persistence layer (read from its source, no import: the module
    reads its settings at import)
    WHEN its static partition key is compared with the apply role's LeadingKeys
    THEN the role allows exactly that partition, and the handler sets it (Powertools' default
    "idempotency#<function name>" would be refused).
    """
    source = (ROOT / "functions" / "apply" / "app.py").read_text(encoding="utf-8")
    (static_pk,) = re.findall(r'static_pk_value="([^"]+)"', source)

    assert may("ApplyFunction", "dynamodb:PutItem", static_pk)
    assert may("ApplyFunction", "dynamodb:DeleteItem", static_pk)
    assert not may("ApplyFunction", "dynamodb:PutItem", "idempotency#stack-ApplyFunction-ABC123")


# ----------------------------------------------------------------------------------- logs expire


def log_groups() -> dict[str, dict[str, Any]]:
    return resources_of_type("AWS::Logs::LogGroup")


# CloudWatch Logs' RetentionInDays values (AWS::Logs::LogGroup resource schema, cfn-lint 1.58.0, read 2026-12-01).
RETENTION_DAYS = [
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
]


def test_log_retention_is_a_parameter_of_the_values_cloudwatch_logs_accepts() -> None:
    """GIVEN the LogRetentionDays parameter
    WHEN its constraints are read
    THEN it defaults to 90 days and allows exactly CloudWatch Logs' retention values.
    """
    parameter = load_template()["Parameters"]["LogRetentionDays"]

    assert (parameter["Type"], str(parameter["Default"])) == ("Number", "90")
    assert [int(v) for v in parameter["AllowedValues"]] == RETENTION_DAYS


def test_every_log_group_expires_after_log_retention_days() -> None:
    """GIVEN every log group of the template
    WHEN its retention is read
    THEN it is the LogRetentionDays parameter (a group without one keeps logs forever).
    """
    groups = log_groups()

    assert len(groups) >= len(EXPECTED_FUNCTIONS) + 2  # the functions', the workflow's, the API's
    for name, group in groups.items():
        assert group["Properties"].get("RetentionInDays") == ref("LogRetentionDays"), name


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_every_function_logs_to_its_own_log_group_of_this_template(name: str) -> None:
    """GIVEN a function
    WHEN its LoggingConfig is read
    THEN it names a log group of this template (so Lambda's default group, which never expires, is not
    created), and no other function shares it.
    """
    functions = resources_of_type(FUNCTION_TYPE)
    target = functions[name]["Properties"].get("LoggingConfig", {}).get("LogGroup")
    others = [
        other
        for other, function in functions.items()
        if other != name and function["Properties"].get("LoggingConfig", {}).get("LogGroup") == target
    ]

    assert isinstance(target, dict) and set(target) == {"Ref"}, target
    assert target["Ref"] in log_groups()
    assert others == []
    assert "LoggingConfig" not in load_template()["Globals"]["Function"]


def test_the_slack_endpoint_writes_access_logs_to_a_log_group_of_this_template() -> None:
    """GIVEN the HTTP API that Slack calls
    WHEN its access log settings are read
    THEN every request is logged (request id, source IP, route, status) to a log group of this template.
    """
    (api,) = resources_of_type("AWS::Serverless::HttpApi").values()
    settings = api["Properties"]["AccessLogSettings"]

    assert settings["DestinationArn"]["Fn::GetAtt"][0] in log_groups()
    fields = json.loads(settings["Format"])
    assert {"requestId", "ip", "routeKey", "status"} <= set(fields)
    assert fields["ip"] == "$context.identity.sourceIp"


def test_the_workflow_logs_its_errors_to_a_log_group_of_this_template() -> None:
    """GIVEN the optimize state machine
    WHEN its logging is read
    THEN it logs at least errors, without execution data (it carries task tokens), to a template log group.
    """
    logging = template_state_machines()["OptimizeStateMachine"]["Properties"]["Logging"]
    (destination,) = logging["Destinations"]

    assert logging["Level"] in {"ERROR", "ALL"}
    assert logging["IncludeExecutionData"] is False
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0] in log_groups()


def test_the_rejection_cooldown_is_a_parameter_that_reaches_analyze() -> None:
    """GIVEN the RejectionCooldownDays parameter
    WHEN its constraints and its use are read
    THEN it defaults to 14 days, cannot be negative, and is the analyze function's REJECTION_COOLDOWN_DAYS.
    """
    parameter = load_template()["Parameters"]["RejectionCooldownDays"]

    assert (parameter["Type"], str(parameter["Default"]), int(parameter["MinValue"])) == ("Number", "14", 0)
    assert function_environment("AnalyzeFunction")["REJECTION_COOLDOWN_DAYS"] == ref("RejectionCooldownDays")


# ------------------------------------------------------------------- notifications never stop the run


NOTIFY_FUNCTIONS = ("${NotifyFunctionArn}", "${RequestApprovalFunctionArn}")


def is_notify_task(state: dict[str, Any]) -> bool:
    """A Task that sends a message: the notify or request-approval function, or a direct SNS publish."""
    resource = str(state.get("Resource", ""))
    function = str(state.get("Parameters", {}).get("FunctionName", ""))
    return state["Type"] == "Task" and (function in NOTIFY_FUNCTIONS or ":::sns:publish" in resource)


@pytest.mark.parametrize("asl_path", [STATEMACHINES_DIR / "optimize.asl.json"], ids=lambda path: path.name)
def test_every_task_that_notifies_catches_every_error_into_a_state_of_its_scope(asl_path: Path) -> None:
    """GIVEN every Task that sends a notification (report, summary, approval card), nested ones included
    WHEN its Catch rules are read
    THEN one catches States.ALL, keeps the state (ResultPath is not "$") and records the error (not null),
    and goes to a state of the same scope: a failed message never fails the run's actions.
    """
    tasks = [(n, s, scope) for n, s, scope in walk_states(load_asl(asl_path)["States"]) if is_notify_task(s)]

    assert len(tasks) >= 3, [n for n, _, _ in tasks]  # report, wait for approval, summary
    for name, state, scope in tasks:
        catch_all = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        assert catch_all, f"{name!r} has no Catch for States.ALL"
        assert catch_all[0].get("ResultPath", "$") not in ("$", None), name
        assert catch_all[0]["Next"] in scope, name


def test_a_run_whose_report_or_summary_failed_ends_failed_after_its_actions() -> None:
    """GIVEN the report and summary tasks, which catch their errors and go on
    WHEN the end of the workflow is read
    THEN a Choice sends a run in which either recorded an error to a Fail state (NotificationsNotSent), so
    an alarm on failed executions still fires, and only after the actions (Process each action) ran.
    """
    states = load_asl(STATEMACHINES_DIR / "optimize.asl.json")["States"]
    error_paths = {
        catch["ResultPath"]
        for state in states.values()
        if state["Type"] == "Task"
        and state.get("Parameters", {}).get("FunctionName") == "${NotifyFunctionArn}"
        for catch in state.get("Catch", [])
    }
    checked = {
        rule["Variable"]: states[rule["Next"]]
        for state in states.values()
        if state["Type"] == "Choice"
        for rule in state["Choices"]
        if rule.get("IsPresent") is True
    }

    assert error_paths == {"$.report_error", "$.summary_error"}
    for path in error_paths:
        assert checked[path]["Type"] == "Fail", path
        assert checked[path]["Error"] == "NotificationsNotSent"
    assert states["Report findings"]["Catch"][0]["Next"] == "Process each action"


# ---------------------------------------------------------- moves confirmed by Inference Recommender


def test_the_recommender_parameters_have_their_defaults_and_bounds() -> None:
    """GIVEN the four Inference Recommender parameters
    WHEN their constraints are read
    THEN at most 1..10 jobs run at once, the spend cap is 0..1000 USD (0 never benchmarks), a job is reused
    for 0..365 days and a running one is read every 30..3600 s; each reaches the code that uses it.
    """
    parameters = load_template()["Parameters"]
    bounds = {
        name: (float(parameters[name]["MinValue"]), float(parameters[name]["MaxValue"]))
        for name in (
            "MaxRecommenderJobs",
            "MaxRecommenderSpendUSD",
            "RecommenderReuseDays",
            "RecommenderPollSeconds",
        )
    }

    assert bounds == {
        "MaxRecommenderJobs": (1, 10),
        "MaxRecommenderSpendUSD": (0, 1000),
        "RecommenderReuseDays": (0, 365),
        "RecommenderPollSeconds": (30, 3600),
    }
    assert function_environment("AnalyzeFunction")["MAX_RECOMMENDER_SPEND_USD"] == ref(
        "MaxRecommenderSpendUSD"
    )
    recommend = function_environment("RecommendFunction")
    assert recommend["RECOMMENDER_REUSE_DAYS"] == ref("RecommenderReuseDays")
    assert recommend["RECOMMENDER_POLL_SECONDS"] == ref("RecommenderPollSeconds")
    substitutions = template_state_machines()["OptimizeStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["MaxRecommenderJobs"] == ref("MaxRecommenderJobs")


def test_moves_are_confirmed_in_a_bounded_map_that_waits_in_the_workflow_and_stops_late_jobs() -> None:
    """GIVEN the optimize workflow
    WHEN the states between "Analyze endpoints" and "Report findings" are read
    THEN a Map over the analysis' to_confirm runs at most MaxRecommenderJobs items at once; each item starts
    a job, then loops Check -> Wait (SecondsPath, no Lambda sleeps) -> Poll -> Check, stops a job past its
    deadline and polls it on until it has stopped, and finishes; every task's failure lands in a Pass of the item; then "Record confirmations"
    folds them into the plans, and a failure there goes on to the report and ends the run failed.
    """
    states = load_asl(STATEMACHINES_DIR / "optimize.asl.json")["States"]
    analyze, confirm, record = (
        states["Analyze endpoints"],
        states["Confirm moves"],
        states["Record confirmations"],
    )
    items = confirm["ItemProcessor"]["States"]
    check = items["Check recommender job"]
    routes = {rule["Variable"]: rule["Next"] for rule in check["Choices"]}

    assert analyze["Next"] == "Confirm moves" and record["Next"] == "Report findings"
    assert confirm["ItemsPath"] == "$.to_confirm" and confirm["Next"] == "Record confirmations"
    assert confirm["MaxConcurrencyPath"] == "$.recommender_jobs_at_once"
    assert (
        analyze["ResultSelector"]["recommender_jobs_at_once.$"]
        == "States.StringToJson('${MaxRecommenderJobs}')"
    )
    assert confirm["ItemProcessor"]["StartAt"] == "Start recommender job"
    assert items["Start recommender job"]["Next"] == "Check recommender job"
    assert routes == {"$.finished": "Finish confirmation", "$.deadline_passed": "Stop recommender job"}
    assert check["Default"] == "Wait for recommender job"
    assert items["Wait for recommender job"] == {
        **items["Wait for recommender job"],
        "Type": "Wait",
        "SecondsPath": "$.wait_seconds",
        "Next": "Poll recommender job",
    }
    assert items["Poll recommender job"]["Next"] == "Check recommender job"
    # a stopped job goes back to the Wait -> Poll loop until it is STOPPED, then Finish reads what it measured
    assert items["Stop recommender job"]["Next"] == "Check recommender job"
    assert items["Finish confirmation"]["End"] is True
    tasks = [state for state in items.values() if state["Type"] == "Task"]
    assert {t["Parameters"]["FunctionName"] for t in tasks} == {"${RecommendFunctionArn}"}
    assert {t["Parameters"]["Payload"]["step"] for t in tasks} == {"start", "poll", "stop", "finish"}
    assert all(t["Catch"][0]["Next"] == "Record confirmation failure" for t in tasks)
    assert items["Record confirmation failure"]["Type"] == "Pass"
    assert record["Parameters"]["Payload"]["step"] == "merge"
    (caught,) = record["Catch"]
    assert (caught["ResultPath"], caught["Next"]) == ("$.confirm_error", "Report findings")
    failed = [
        states[rule["Next"]]
        for state in states.values()
        if state["Type"] == "Choice"
        for rule in state["Choices"]
        if rule["Variable"] == "$.confirm_error"
    ]
    assert [(s["Type"], s["Error"]) for s in failed] == [("Fail", "MovesNotConfirmed")]


def test_the_recommend_function_never_sleeps() -> None:
    """GIVEN the recommend handler and the confirm workflow steps it delegates to
    WHEN their source is read
    THEN neither sleeps: the waiting between polls is the workflow's Wait state.
    """
    sources = [
        ROOT / "functions" / "recommend" / "app.py",
        ROOT / "layers" / "endpoint_optimizer" / "endpoint_optimizer" / "confirm" / "workflow.py",
    ]

    for source in sources:
        assert "sleep(" not in source.read_text(encoding="utf-8"), source.name


def test_the_recommend_function_may_pass_only_the_recommender_role_and_only_to_sagemaker() -> None:
    """GIVEN the recommend function, which starts Inference Recommender jobs with the recommender role
    WHEN its iam: permissions are read
    THEN the only one is iam:PassRole on that role, on condition iam:PassedToService = sagemaker.amazonaws.com,
    and no other function or state machine may pass a role.
    """
    passes = [
        (owner, statement)
        for owner, statement in all_inline_statements()
        if any(str(action).startswith("iam:") for action in as_list(statement.get("Action", [])))
    ]

    assert sorted((owner, as_list(s["Action"])) for owner, s in passes) == [
        ("ApplyFunction", ["iam:PassRole"]),
        ("ApplyFunction", ["iam:PassRole"]),
        ("RecommendFunction", ["iam:PassRole"]),
    ]
    for owner, statement in passes:
        assert statement["Effect"] == "Allow"
        if statement["Resource"] == get_att_arn("NightParkSchedulerRole"):
            # Night parking: only the scheduler role, only to EventBridge Scheduler.
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
            }
            continue
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        if owner == "RecommendFunction":
            assert statement["Resource"] == get_att_arn("RecommenderRole")
        else:  # a Graviton model, or a way back's model recreated, runs with the model's own role
            assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}


# What a SageMaker model's execution role needs ("CreateModel API: Execution Role Permissions", SageMaker
# developer guide, sagemaker-roles; archived awsdocs/amazon-sagemaker-developer-guide, read 2026-12-01).
MODEL_EXECUTION_ROLE_ACTIONS = frozenset(
    {
        "cloudwatch:PutMetricData",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:CreateLogGroup",
        "logs:DescribeLogStreams",
        "s3:GetObject",
        "s3:ListBucket",
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
    }
)


def test_the_recommender_role_is_trusted_by_sagemaker_only_and_holds_a_model_execution_roles_permissions() -> (
    None
):
    """GIVEN the role Inference Recommender jobs run with
    WHEN its trust and policies are read
    THEN only SageMaker may assume it, for this account; besides the documented execution-role set of a
    model it may run only the "eo-" resources its jobs launch (no IAM, no other SageMaker write); S3 reads
    stay in this account (or the stack's payloads);
    and only the ECR token and metrics, which have no resource-level permissions, are on "*".
    """
    role = load_template()["Resources"]["RecommenderRole"]["Properties"]
    (trust,) = as_list(role["AssumeRolePolicyDocument"]["Statement"])
    statements = [s for policy in role["Policies"] for s in as_list(policy["PolicyDocument"]["Statement"])]
    actions = allowed_actions(statements)

    assert (trust["Effect"], trust["Action"], trust["Principal"]) == (
        "Allow",
        "sts:AssumeRole",
        {"Service": "sagemaker.amazonaws.com"},
    )
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}
    assert "ManagedPolicyArns" not in role
    # SageMaker: only the resources the role's own jobs launch (named from the "eo-" job names), and
    # reading the model to benchmark.
    for statement in statements:
        sagemaker = {a for a in as_list(statement["Action"]) if str(a).startswith("sagemaker:")}
        if not sagemaker:
            continue
        arns = [
            str(r.get("Fn::Sub", r)) if isinstance(r, dict) else str(r)
            for r in as_list(statement["Resource"])
        ]
        if sagemaker == {"sagemaker:DescribeModel"}:
            assert all(arn.endswith((":model/*", ":model/eo-*")) for arn in arns), arns
        else:
            assert all(arn.rsplit(":", 1)[1].split("/")[1] == "eo-*" for arn in arns), arns
    actions = {a for a in actions if not a.startswith("sagemaker:")}
    assert actions <= MODEL_EXECUTION_ROLE_ACTIONS
    assert {"s3:GetObject", "ecr:BatchGetImage", "logs:PutLogEvents"} <= actions
    for statement in statements:
        resources = as_list(statement["Resource"])
        if "*" in resources:
            assert set(as_list(statement["Action"])) <= {
                "ecr:GetAuthorizationToken",
                "cloudwatch:PutMetricData",
            }
        if any(str(a).startswith("s3:") for a in as_list(statement["Action"])) and not bucket_object_arns(
            statement
        ):
            assert statement["Condition"] == {"StringEquals": {"s3:ResourceAccount": ref("AWS::AccountId")}}
