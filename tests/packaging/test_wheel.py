"""What ships to a laptop: the wheel holds endpoint_optimizer and its CLI only, and works installed on its own.

The wheel is built from a copy of the checkout (so a stale build/ folder cannot add to it) and installed in a
fresh venv, with the dev venv's versions of its dependencies as constraints (the same the tests run with). The
installed CLI then scans an emulated AWS (moto's server, in this test process) as the checkout's CLI does.
uv (a dev dependency) builds, makes the venv and installs: the same PEP 517 build and wheel install as pip's,
in seconds rather than a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from emulated_aws.fleet import seed_idle_and_busy
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.cli import main as checkout_cli
from tests.packaging.building import REPO_ROOT, built_once, run

pytestmark = pytest.mark.packaging

PROJECT = "sagemaker-endpoint-optimizer"
PACKAGE_DIR = REPO_ROOT / "layers" / "endpoint_optimizer" / "endpoint_optimizer"
# What is never part of a build: tools' caches, local build output, the venv, the repository itself.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".aws-sam", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".demo", ".bench", "mutants",
)  # fmt: skip
HOURS = 14 * 24
UV = str(Path(sys.executable).parent / "uv")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a clean copy of the checkout (tests/ and the emulated AWS included)."""

    def build(folder: Path) -> None:
        source = folder / "source"
        shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE, symlinks=True)
        run([UV, "build", "--quiet", "--wheel", "--out-dir", str(folder / "dist"), str(source)])

    (built,) = (built_once(tmp_path_factory, "wheel", build) / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """bin/ of a new venv with the wheel installed, and its dependencies at the dev venv's versions."""

    def build(folder: Path) -> None:
        constraints = folder / "constraints.txt"
        constraints.write_text(
            "".join(
                f"{dist.metadata['Name']}=={dist.version}\n"
                for dist in metadata.distributions()
                if dist.metadata["Name"] and normalized(dist.metadata["Name"]) != PROJECT
            ),
            encoding="utf-8",
        )
        venv = folder / "venv"
        run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)])
        install = [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
        run([*install, "--constraint", str(constraints), str(wheel)])

    return built_once(tmp_path_factory, "fresh-venv", build) / "venv" / "bin"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def outside_the_checkout(cwd: Path) -> dict[str, str]:
    """This process's environment (with the emulated AWS's endpoint and credentials when it runs), minus
    what would put the checkout on the path."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return {**env, "XDG_CACHE_HOME": str(cwd / "cache"), "HOME": str(cwd)}


def installed(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "endpoint-optimizer"), *args],
        cwd=cwd,
        env=outside_the_checkout(cwd),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_wheel_holds_the_domain_package_and_its_cli_only(wheel: Path) -> None:
    """GIVEN the wheel built from the checkout
    WHEN its contents are listed
    THEN it holds exactly the endpoint_optimizer package as in the source (its data tables, JSON schemas and
    py.typed included) and its dist-info, nothing of tests/, the emulated AWS or a conftest; and it declares
    the endpoint-optimizer command.
    """
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    packaged = {
        name.removeprefix("endpoint_optimizer/") for name in names if name.startswith("endpoint_optimizer/")
    }
    source = {
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }

    assert {name.split("/")[0] for name in names} == {"endpoint_optimizer", info}
    assert packaged == source
    assert {"py.typed"} < packaged
    assert any(re.fullmatch(r"data/[^/]+\.csv", name) for name in packaged)
    assert any(re.fullmatch(r"schemas/[^/]+\.json", name) for name in packaged)
    assert not [name for name in names if re.search(r"(^|/)(tests|emulated_aws)/|conftest", name)]
    assert re.search(r"^endpoint-optimizer = endpoint_optimizer\.cli:main$", entry_points, re.M)


def test_the_installed_package_is_the_wheels_not_the_checkouts(fresh_venv: Path, tmp_path: Path) -> None:
    """GIVEN the wheel installed in a fresh venv
    WHEN its Python imports endpoint_optimizer from outside the checkout
    THEN the package comes from the venv's site-packages.
    """
    command = [
        str(fresh_venv / "python"),
        "-c",
        "import endpoint_optimizer; print(endpoint_optimizer.__file__)",
    ]
    printed = run(command, cwd=tmp_path, env=outside_the_checkout(tmp_path))

    assert Path(printed.strip()).is_relative_to(fresh_venv.parent / "lib")


def test_the_installed_cli_offers_its_commands_and_no_demo(fresh_venv: Path, tmp_path: Path) -> None:
    """GIVEN the wheel installed in a fresh venv
    WHEN endpoint-optimizer --help, scan --help and demo are run
    THEN the commands are scan, restore, undo, ledger, approvals and recommend, scan explains its options, and demo is refused as unknown (the
    demo runs from a checkout: `make demo`).
    """
    top = installed(fresh_venv, "--help", cwd=tmp_path)
    scan = installed(fresh_venv, "scan", "--help", cwd=tmp_path)
    demo = installed(fresh_venv, "demo", cwd=tmp_path)
    commands = re.search(r"\{([a-z,-]+)\}", top.stdout)

    assert top.returncode == 0 and commands, top.stderr
    assert commands.group(1).split(",") == ["scan", "restore", "undo", "ledger", "approvals", "recommend"]
    assert scan.returncode == 0 and "--offline-prices" in scan.stdout, scan.stderr
    assert demo.returncode == 2
    assert "invalid choice: 'demo'" in demo.stderr


@pytest.fixture
def idle_and_busy_endpoints(aws: EmulatedAws) -> None:
    """An idle and a busy endpoint, 20 days old, with 14 days of hourly metrics."""
    seed_idle_and_busy(aws, "wheel", hours=HOURS)


DECISION_FIELDS = (
    "endpoint_name",
    "action",
    "target",
    "estimated_monthly_savings_usd",
    "confidence",
    "blocked_by",
)


def findings(plan_path: Path) -> list[dict[str, Any]]:
    """What the plan decided per endpoint. Not the reasons' numbers nor the scan facts: the two scans run
    moments apart, and an hour boundary between them moves the look-back window by one hour."""
    plan: dict[str, Any] = json.loads(plan_path.read_text(encoding="utf-8"))
    decided = [{key: finding.get(key) for key in DECISION_FIELDS} for finding in plan["findings"]]
    return sorted(decided, key=lambda finding: str(finding["endpoint_name"]))


def test_the_installed_cli_scans_the_emulated_aws_as_the_checkout_does(
    idle_and_busy_endpoints: None, fresh_venv: Path, tmp_path: Path
) -> None:
    """GIVEN an idle and a busy endpoint on the emulated AWS (AWS_ENDPOINT_URL points at it)
    WHEN the installed endpoint-optimizer and the checkout's CLI scan the region with the bundled prices
    THEN the installed one exits 0, prints the idle endpoint as one to park and writes the same findings as
    the checkout's.
    """
    scan = ["scan", "--region", "us-east-1", "--offline-prices"]
    done = installed(
        fresh_venv, *scan, "--state", "state.json", "--output", str(tmp_path / "installed.json"), cwd=tmp_path
    )
    checkout = [
        *scan,
        "--state",
        str(tmp_path / "checkout-state.json"),
        "--output",
        str(tmp_path / "checkout.json"),
    ]
    assert checkout_cli(checkout) == 0
    idle_line = next((line for line in done.stdout.splitlines() if line.startswith("wheel-idle ")), "")

    assert done.returncode == 0, done.stderr
    assert idle_line.split()[1] == "park", done.stdout
    assert findings(tmp_path / "installed.json") == findings(tmp_path / "checkout.json")
