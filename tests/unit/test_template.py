"""The SAM template and the state machine definitions, checked as one contract.

These tests read `template.yaml` (with the CloudFormation tags resolved by cfn-lint's loader) and every
`statemachines/*.asl.json`, and assert the properties the rest of the project relies on: names, settings,
least-privilege IAM and bounded, retried workflow states. No AWS, no network.
"""

from __future__ import annotations

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
        "Act", "Analyze", "Apply", "Ask", "Check", "Choose", "Collect", "Create", "Decide", "Delete",
        "Describe", "Fail", "Find", "Load", "Mark", "Notify", "Park", "Pick", "Poll", "Prepare", "Process",
        "Recommend", "Record", "Report", "Request", "Restore", "Resume", "Roll", "Run", "Save", "Scale",
        "Scan", "Send", "Skip", "Snapshot", "Start", "Store", "Succeed", "Summarize", "Update", "Verify",
        "Wait",
    }
)  # fmt: skip

# Actions that do not support resource-level permissions: the only ones allowed on Resource "*".
WILDCARD_RESOURCE_ACTIONS = frozenset(
    {
        "sagemaker:ListEndpoints",
        "sagemaker:ListInferenceComponents",
        "tag:GetResources",
        "cloudwatch:GetMetricData",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScheduledActions",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:PutScheduledAction",
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
        },
    ),
    "NotifyFunction": (
        "functions/notify",
        {"TOPIC_ARN": ref("NotificationTopic"), "SLACK_WEBHOOK_SECRET_ARN": ref("SlackWebhookSecret")},
    ),
    "RequestApprovalFunction": (
        "functions/request_approval",
        {"TABLE_NAME": ref("StateTable"), "SLACK_WEBHOOK_SECRET_ARN": ref("SlackWebhookSecret")},
    ),
    "SlackInteractionsFunction": (
        "functions/slack_interactions",
        {
            "TABLE_NAME": ref("StateTable"),
            "SLACK_SIGNING_SECRET_ARN": ref("SlackSigningSecret"),
            "SLACK_APPROVER_IDS": ref("SlackApproverIds"),
        },
    ),
    "ApplyFunction": (
        "functions/apply",
        {"TABLE_NAME": ref("StateTable"), "SKIP_TAG_KEY": ref("SkipTagKey")},
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
    THEN both sets are equal, and each substitution is the ARN of a function of this template.
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
    THEN scan only writes snapshots, analyze only reads snapshots and writes plans, and no other function
    touches the bucket.
    """
    grants = {name: s3_grants(name) for name in resources_of_type(FUNCTION_TYPE)}

    assert grants.pop("ScanFunction") == {("s3:PutObject", "snapshots/*")}
    assert grants.pop("AnalyzeFunction") == {("s3:GetObject", "snapshots/*"), ("s3:PutObject", "plans/*")}
    assert all(not granted for granted in grants.values()), grants


def test_the_analyze_function_reads_prices_and_otherwise_only_touches_its_bucket_and_price_cache() -> None:
    """GIVEN the analyze function (computation over snapshots, plans written to S3, live prices)
    WHEN its policies are read
    THEN it may read prices, get/put the price cache item in the state table, and S3 objects of the
    artifact bucket; nothing else.
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
            assert actions == {"dynamodb:GetItem", "dynamodb:PutItem"}
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

# Everything the scan reads in a member account, and nothing else.
MEMBER_READ_ACTIONS = {
    "sagemaker:ListEndpoints",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListTags",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DescribeInferenceComponent",
    "tag:GetResources",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScheduledActions",
    "cloudwatch:GetMetricData",
}
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


def test_the_member_role_grants_exactly_the_scans_reads_and_no_write() -> None:
    """GIVEN the member-account role template (deployed as a StackSet)
    WHEN the actions of its policies are read
    THEN they are exactly what the scan reads, every one a List/Describe/Get, all allowed, none a wildcard,
    and the role has no managed policy that could add more.
    """
    statements = [s for p in member_role()["Policies"] for s in as_list(p["PolicyDocument"]["Statement"])]
    actions = {str(a) for s in statements for a in as_list(s["Action"])}

    assert actions == MEMBER_READ_ACTIONS
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


def test_the_scan_reads_the_same_in_this_account_as_through_the_member_role() -> None:
    """GIVEN the scan function's own read permissions and the member role's
    WHEN their actions are compared
    THEN they are the same set: a target reads alike wherever it is.
    """
    own = {
        str(action)
        for statement in inline_statements(resources_of_type(FUNCTION_TYPE)["ScanFunction"])
        for action in as_list(statement["Action"])
        if not str(action).startswith(("sts:", "s3:", "dynamodb:"))  # its own state, not a target's
    }

    assert own == MEMBER_READ_ACTIONS


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
    THEN they are the seven whose logical ids the state machine, the harness and the docs use.
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


def test_the_layer_pins_its_dependencies_and_leaves_boto3_to_the_runtime() -> None:
    """GIVEN the layer's requirements.txt
    WHEN its requirement lines are read
    THEN each is pinned with == and none is boto3 or botocore.
    """
    layer = resources_of_type("AWS::Serverless::LayerVersion")["EndpointOptimizerLayer"]
    requirements = ROOT / layer["Properties"]["ContentUri"] / "requirements.txt"
    lines = [line.strip() for line in requirements.read_text(encoding="utf-8").splitlines()]
    requirement_lines = [line for line in lines if line and not line.startswith("#")]
    names = {re.split(r"[\[=<>~!]", line, maxsplit=1)[0].lower() for line in requirement_lines}

    assert requirement_lines
    assert all("==" in line for line in requirement_lines), requirement_lines
    assert names.isdisjoint({"boto3", "botocore"})


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


def test_the_apply_function_is_granted_exactly_what_the_applied_rungs_declare() -> None:
    """GIVEN the fix ladder's rungs that the apply step carries out (each declares its IAM permissions)
    WHEN the apply function's Allow statements are read (its own state table aside)
    THEN they grant exactly the declared permissions: nothing used is missing, nothing granted is unused.
    """
    from endpoint_optimizer.ladder import RULES

    declared = {permission for rule in RULES if rule.applied for permission in rule.permissions}
    granted = {
        str(action)
        for statement in inline_statements(resources_of_type(FUNCTION_TYPE)["ApplyFunction"])
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        if not str(action).startswith("dynamodb:")
    }

    assert granted == declared
