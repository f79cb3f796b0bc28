"""Shared fixtures: sample events from events/ (the same files `sam local invoke` uses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulated_aws.server import EmulatedAws

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS = REPO_ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def aws() -> Iterator[EmulatedAws]:
    """One emulated AWS (moto server in this process) per test process; tests reset it as they need."""
    with EmulatedAws(region="us-east-1") as emulated:
        yield emulated
