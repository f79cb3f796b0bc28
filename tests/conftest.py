"""Shared fixtures: sample events from events/ (the same files `sam local invoke` uses), the moment the
decision tests are taken at, and the Analyze Lambda's policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulated_aws.server import EmulatedAws
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import ScanSnapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS = REPO_ROOT / "events"
# The sample events' moment: events/analyze.json was scanned at 2026-11-30 12:00 UTC.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def sample_snapshot() -> ScanSnapshot:
    """The sample fleet: the snapshot of the one target in events/analyze.json (this stack's account and
    region)."""
    return ScanSnapshot.model_validate(load_event("analyze.json")["scans"][0]["snapshot"])


def policy(**overrides: object) -> Policy:
    """The Analyze Lambda's policy with template.yaml's defaults, `overrides` by environment name."""
    env = {
        "MODE": "approve",
        "LOOKBACK_DAYS": "14",
        "GRACE_DAYS": "7",
        "SKIP_TAG_KEY": "endpoint-optimizer:skip",
        "MAX_ACTIONS_PER_RUN": "5",
        "APPROVAL_TIMEOUT_HOURS": "24",
    }
    env.update({key: str(value) for key, value in overrides.items()})
    return Policy.from_env(env)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def aws() -> Iterator[EmulatedAws]:
    """One emulated AWS (moto server in this process) per test process; tests reset it as they need."""
    with EmulatedAws(region="us-east-1") as emulated:
        yield emulated
