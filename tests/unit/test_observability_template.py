"""The dashboard and the alarms, checked in the template as CloudFormation receives it (after the SAM
transform): the dashboard shows every metric the functions emit and the alarms reach the topic.

The metric names come from `endpoint_optimizer.infra.metric_names`, which the handlers use too: renaming a
metric on one side only fails here. No AWS, no network.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
from pathlib import Path
from typing import Any
from unittest import mock

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

from endpoint_optimizer.infra import metric_names

ROOT = Path(__file__).resolve().parents[2]
EMITTING_CODE = [
    *sorted((ROOT / "functions").glob("*/app.py")),
    ROOT / "layers/endpoint_optimizer/endpoint_optimizer/infra/observability.py",
]
EMITTERS = {"add_metric", "single_metric", "add_metric_by", "add_counts_by"}
TOPIC = {"Ref": "NotificationTopic"}


class _NoManagedPolicies:
    """The template names no AWS managed policy: nothing to look up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


@functools.cache
def transformed() -> dict[str, Any]:
    """template.yaml as `sam deploy` hands it to CloudFormation: local code paths become S3 URIs (what
    `sam package` does), then the SAM transform expands the serverless resources."""
    template: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://packaged-artifacts/{name}"
    # The transform asks boto3 for a region (partition lookups); a laptop may have none configured.
    with mock.patch.dict(
        os.environ, {"AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    ):
        result: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return result


def resources(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in transformed()["Resources"].items() if r["Type"] == resource_type}


def dashboard_body() -> dict[str, Any]:
    """The dashboard's JSON, each ${Ref} of the Fn::Sub left as the logical id it names."""
    (dashboard,) = resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{([A-Za-z0-9:]+)\}", r"\1", body))
    return parsed


def dashboard_metrics() -> list[list[Any]]:
    return [
        metric
        for widget in dashboard_body()["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    ]


def searched() -> dict[str, str]:
    """Metric name -> the dimension a SEARCH expression of the dashboard breaks it down by."""
    found: dict[str, str] = {}
    for metric in dashboard_metrics():
        if isinstance(metric[0], dict):
            expression = metric[0]["expression"]
            match = re.fullmatch(
                r"SEARCH\('\{(\w+),(\w+),service\} MetricName=\"(\w+)\"', 'Sum', \d+\)", expression
            )
            assert match, f"unexpected expression {expression}"
            assert match.group(1) == metric_names.NAMESPACE
            found[match.group(3)] = match.group(2)
    return found


def shown_custom_metrics() -> set[str]:
    named = {
        metric[1]
        for metric in dashboard_metrics()
        if isinstance(metric[0], str) and metric[0] == metric_names.NAMESPACE
    }
    return named | set(searched())


def emitted_metric_names() -> set[str]:
    """Every metric name the handlers and the observability helpers pass, as `metric_names.<CONSTANT>`."""
    used: set[str] = set()
    for path in EMITTING_CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called not in EMITTERS:
                continue
            name = next(
                (kw.value for kw in node.keywords if kw.arg == "name"), node.args[0] if node.args else None
            )
            if isinstance(name, ast.Name) and name.id == "name":  # a helper passing on its caller's name
                continue
            assert isinstance(name, ast.Attribute), (
                f"{path.relative_to(ROOT)}:{node.lineno}: a metric name must be a metric_names constant"
            )
            if isinstance(name.value, ast.Name) and name.value.id in {"metric_names", "names"}:
                used.add(getattr(metric_names, name.attr))
    return used


def test_every_metric_is_named_in_metric_names_and_emitted_somewhere() -> None:
    # GIVEN the handlers and the helpers they call WHEN their metric names are collected
    # THEN each is a metric_names constant, and no constant is left that nothing emits
    assert emitted_metric_names() == set(metric_names.ALL)


def test_the_dashboard_shows_every_metric_the_functions_emit_and_no_other() -> None:
    # GIVEN the transformed template's dashboard THEN it shows exactly the metrics the code emits
    assert shown_custom_metrics() == emitted_metric_names()


def test_metrics_counted_by_a_category_are_broken_down_by_that_dimension_on_the_dashboard() -> None:
    assert searched() == metric_names.BY_DIMENSION


def test_the_dashboard_reads_the_namespace_and_service_the_functions_write() -> None:
    globals_env = cfn_yaml.load(str(ROOT / "template.yaml"))["Globals"]["Function"]["Environment"][
        "Variables"
    ]
    assert globals_env["POWERTOOLS_METRICS_NAMESPACE"] == metric_names.NAMESPACE
    assert globals_env["POWERTOOLS_SERVICE_NAME"] == metric_names.SERVICE
    for metric in dashboard_metrics():
        if metric[0] == metric_names.NAMESPACE:
            assert metric[2:4] == ["service", metric_names.SERVICE], metric


def test_the_dashboard_shows_failed_executions_of_both_workflows_and_every_functions_errors() -> None:
    shown = {
        (m[0], m[1], m[3]) for m in dashboard_metrics() if isinstance(m[0], str) and m[0].startswith("AWS/")
    }
    for machine in resources("AWS::StepFunctions::StateMachine"):
        assert ("AWS/States", "ExecutionsFailed", machine) in shown
    for function in resources("AWS::Lambda::Function"):
        assert ("AWS/Lambda", "Errors", function) in shown


def alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric name, the value of its one dimension) of every metric the alarm reads."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        stats = [{"Metric": properties}]
    else:
        stats = [query["MetricStat"] for query in properties["Metrics"] if "MetricStat" in query]
    found = set()
    for stat in stats:
        (dimension,) = stat["Metric"]["Dimensions"]
        value = dimension["Value"]
        found.add(
            (
                stat["Metric"]["Namespace"],
                stat["Metric"]["MetricName"],
                value.get("Ref", value) if isinstance(value, dict) else value,
            )
        )
    return found


def test_each_alarm_notifies_the_notification_topic() -> None:
    alarms = resources("AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [TOPIC], name
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", name  # quiet days are not alarms


def test_alarms_cover_failed_runs_failed_applies_rollbacks_and_unscanned_endpoints() -> None:
    read = set().union(*(alarm_metrics(alarm) for alarm in resources("AWS::CloudWatch::Alarm").values()))
    service = metric_names.SERVICE
    assert {
        ("AWS/States", "ExecutionsFailed", "OptimizeStateMachine"),
        ("AWS/States", "ExecutionsFailed", "ApplyStateMachine"),
        # a night's park or morning restore the scheduler dropped or could not start: no execution failed
        ("AWS/Scheduler", "InvocationDroppedCount", "NightParkScheduleGroup"),
        ("AWS/Scheduler", "TargetErrorCount", "NightParkScheduleGroup"),
        (metric_names.NAMESPACE, metric_names.ROLLBACKS, service),
        (metric_names.NAMESPACE, metric_names.ENDPOINTS_NOT_SCANNED, service),
        (metric_names.NAMESPACE, metric_names.TARGETS_NOT_SCANNED, service),
    } <= read


def test_cloudwatch_may_use_the_topics_key_and_the_notify_function_may_publish_with_it() -> None:
    # GIVEN the topic under its own key (alarms cannot publish to a topic under the AWS managed aws/sns key)
    topic = transformed()["Resources"]["NotificationTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "NotificationKey"}
    key_policy = transformed()["Resources"]["NotificationKey"]["Properties"]["KeyPolicy"]
    (cloudwatch,) = [
        s for s in key_policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    # THEN the notify function's role may encrypt for it
    role = transformed()["Resources"]["NotifyFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert any(
        s["Resource"] == {"Fn::GetAtt": ["NotificationKey", "Arn"]} and "kms:GenerateDataKey" in s["Action"]
        for s in statements
    )
