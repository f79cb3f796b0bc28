"""The plan file: the published contract (schema_version 1), written by the CLI and the workflow."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from endpoint_optimizer.models import Plan

SCHEMA_RESOURCE = "schemas/plan-v1.schema.json"


@cache
def plan_schema() -> dict[str, Any]:
    text = resources.files("endpoint_optimizer").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def plan_document(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(mode="json")


def write_plan(plan: Plan, path: Path) -> None:
    path.write_text(json.dumps(plan_document(plan), indent=2) + "\n", encoding="utf-8")
