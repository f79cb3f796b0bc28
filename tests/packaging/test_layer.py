"""The Lambda layer as `sam build` makes it: small, for arm64, without the runtime's SDK, and importable.

The layer is built by layers/endpoint_optimizer/Makefile (template.yaml: BuildMethod makefile) from the
hash-pinned lock. The Lambda runs arm64; this machine may not, so the import check runs on a second build of
the same lock by the same Makefile target for this machine's platform, on Python 3.12 with nothing on its path
but that build and boto3 with what it needs (what the python3.12 runtime provides).
"""

from __future__ import annotations

import ast
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.packaging.building import REPO_ROOT, built_once, run

pytestmark = pytest.mark.packaging

LAYER_DIR = REPO_ROOT / "layers" / "endpoint_optimizer"
# What the Lambda python3.12 runtime provides (boto3 and what it needs), as distributions.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
# The layer's budget: 15 MiB of files (it was 41 MB with botocore, which the runtime already has).
LAYER_SIZE_LIMIT = 15 * 2**20
EM_AARCH64 = 183  # ELF e_machine of arm64 (the Lambda's architecture)
# Variables of an outer `make` (make test) that must not leak into the Makefile builds.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")


def find_python312() -> str | None:
    """A working python3.12 (the Lambda runtime's version): from PATH, else pyenv's newest 3.12, as `make build`."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    pyenv = sorted(
        glob.glob(f"{pyenv_root}/versions/3.12.*/bin/python3.12"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", Path(path).parents[1].name)],
    )
    for candidate in filter(None, [shutil.which("python3.12"), *reversed(pyenv)]):
        # pyenv's shim is on PATH even where it has no 3.12 to run: ask the interpreter itself
        if subprocess.run([candidate, "--version"], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


PYTHON312 = find_python312()


def build_environment() -> dict[str, str]:
    """This process's environment, with python3.12 first on PATH (as `make build` runs sam build)."""
    env = {key: value for key, value in os.environ.items() if key not in MAKE_VARIABLES}
    if PYTHON312:
        env["PATH"] = f"{Path(PYTHON312).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """python/ of the layer `sam build EndpointOptimizerLayer` makes (no cache: built from scratch)."""

    def build(folder: Path) -> None:
        sam = str(Path(sys.executable).parent / "sam")
        command = [sam, "build", "EndpointOptimizerLayer", "--template-file", "template.yaml", "--no-cached"]
        command += ["--build-dir", str(folder / "build"), "--cache-dir", str(folder / "cache")]
        run(command, cwd=REPO_ROOT, env=build_environment())

    return built_once(tmp_path_factory, "layer-arm64", build) / "build" / "EndpointOptimizerLayer" / "python"


@pytest.fixture(scope="session")
def host_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """python/ of the same Makefile target and lock, built for this machine's platform (for the import check)."""

    def build(folder: Path) -> None:
        command = ["make", "--no-print-directory", "-C", str(LAYER_DIR), "build-EndpointOptimizerLayer"]
        command += [f"ARTIFACTS_DIR={folder}", f"LAYER_PLATFORM=manylinux2014_{platform.machine()}"]
        run(command, env=build_environment())

    return built_once(tmp_path_factory, "layer-host", build) / "python"


@pytest.fixture(scope="session")
def runtime_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only boto3 and what it needs (links to this venv's pure-Python copies): what the
    Lambda python3.12 runtime puts on the path besides the layer."""
    folder = tmp_path_factory.mktemp("runtime-sdk")
    for name in RUNTIME_PROVIDED:
        distribution = metadata.distribution(name)
        for top in {file.parts[0] for file in distribution.files or [] if ".." not in file.parts}:
            if not (folder / top).exists():
                (folder / top).symlink_to(Path(str(distribution.locate_file(top))))
    return folder


def distributions_in(python_dir: Path) -> dict[str, str]:
    """normalized name -> version of every *.dist-info in a layer's python/ folder."""
    found = {}
    for info in python_dir.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[normalized(name)] = version
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    """normalized name -> version of every package in the layer's lock."""
    text = (LAYER_DIR / "requirements.txt").read_text(encoding="utf-8")
    return {
        normalized(name): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
    }


def files_under(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def handler_imports() -> list[tuple[str, list[str]]]:
    """(module, names) of every import at the top of functions/*/app.py that is not the standard library,
    and the CLI's and the analysis' modules."""
    wanted: dict[str, set[str]] = {
        "endpoint_optimizer.cli": set(),
        "endpoint_optimizer.analysis": set(),
        "endpoint_optimizer.act.approvals": set(),
    }
    for app in sorted((REPO_ROOT / "functions").glob("*/app.py")):
        for node in ast.parse(app.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                wanted.setdefault(node.module, set()).update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    wanted.setdefault(alias.name, set())
    return [
        (module, sorted(names))
        for module, names in sorted(wanted.items())
        if module.split(".")[0] not in sys.stdlib_module_names | {"__future__"}
    ]


# Run by python3.12 -S (no site-packages): the layer, then the runtime's SDK, and nothing else.
IMPORT_CHECK = """
import importlib, json, sys
layer, runtime, imports = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [layer, runtime]
for module, names in imports:
    loaded = importlib.import_module(module)
    for name in names:  # as `from module import name` does: an attribute, else a submodule
        if not hasattr(loaded, name):
            importlib.import_module(f"{module}.{name}")
import wrapt
from botocore.client import BaseClient
print(json.dumps({
    "version": list(sys.version_info[:2]),
    "origins": {name: sys.modules[name].__file__ for name in (
        "endpoint_optimizer", "pydantic_core", "aws_lambda_powertools", "aws_xray_sdk", "boto3", "botocore"
    ) if name in sys.modules},
    # aws-xray-sdk's patch (the Tracer's) wraps botocore's API call with wrapt
    "botocore_traced": isinstance(vars(BaseClient)["_make_api_call"], wrapt.FunctionWrapper),
}))
"""


def test_the_built_layer_leaves_boto3_and_botocore_to_the_runtime(built_layer: Path) -> None:
    """GIVEN the layer sam build made
    WHEN its python/ folder is listed
    THEN no boto3, botocore, s3transfer or other package the runtime provides is in it, as a distribution or
    as a module.
    """
    modules = {entry.name.removesuffix(".py") for entry in built_layer.iterdir()}
    runtime_modules = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six"}

    assert modules.isdisjoint(runtime_modules), sorted(modules & runtime_modules)
    assert set(distributions_in(built_layer)).isdisjoint(RUNTIME_PROVIDED)


def test_the_built_layer_ships_the_package_and_exactly_the_lock(built_layer: Path) -> None:
    """GIVEN the layer sam build made
    WHEN its distributions and its endpoint_optimizer files are compared with the lock and the source
    THEN it holds every locked package at its locked version and nothing else, and the package as in the
    source (data and schemas included, no bytecode).
    """
    assert distributions_in(built_layer) == locked()
    assert files_under(built_layer / "endpoint_optimizer") == files_under(LAYER_DIR / "endpoint_optimizer")
    assert not list(built_layer.rglob("*.pyc"))


def test_the_built_layer_is_under_its_size_budget(built_layer: Path) -> None:
    """GIVEN the layer sam build made
    WHEN the sizes of its files are added up
    THEN they come to less than 15 MiB.
    """
    size = sum(path.stat().st_size for path in built_layer.rglob("*") if path.is_file())

    assert size < LAYER_SIZE_LIMIT, f"{size / 2**20:.1f} MiB"


def test_the_built_layer_has_arm64_binaries_only(built_layer: Path) -> None:
    """GIVEN the layer sam build made, whatever machine built it
    WHEN the ELF header of every compiled extension in it is read
    THEN each is for arm64 (the functions' architecture), pydantic_core's among them.
    """
    extensions = sorted(built_layer.rglob("*.so"))
    machines = {path.relative_to(built_layer).as_posix(): elf_machine(path) for path in extensions}

    assert any(name.startswith("pydantic_core/") for name in machines)
    assert set(machines.values()) == {EM_AARCH64}, machines


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")  # e_machine (little-endian ELF)


@pytest.mark.skipif(PYTHON312 is None, reason="needs python3.12 (the Lambda runtime's): pyenv install 3.12")
def test_every_handler_import_works_on_python_3_12_with_only_the_runtime_sdk_beside_the_layer(
    built_layer: Path, host_layer: Path, runtime_sdk: Path, tmp_path: Path
) -> None:
    """GIVEN the layer built for this machine from the same lock and Makefile target (same top-level entries
    as the arm64 layer), and boto3 with what it needs as the runtime provides it
    WHEN Python 3.12, with only those two on its path, imports what every handler imports (and the CLI and the
    analysis), in a Lambda-like environment where the Tracer is on
    THEN every import resolves: the package and its dependencies from the layer, boto3 and botocore from the
    runtime; and the Tracer has instrumented botocore (aws-xray-sdk works with the runtime's botocore).
    """
    assert PYTHON312 is not None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(tmp_path),  # the Tracer is on in Lambda only
        "AWS_LAMBDA_FUNCTION_NAME": "layer-import-check",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "endpoint-optimizer",
    }
    imports = json.dumps(handler_imports())
    # -S: no site-packages; -B: no bytecode written (as /opt in a Lambda, the layer stays read-only)
    command = [PYTHON312, "-S", "-B", "-c", IMPORT_CHECK, str(host_layer), str(runtime_sdk), imports]
    result = json.loads(run(command, env=env, cwd=tmp_path).splitlines()[-1])
    origins = {name: Path(origin) for name, origin in result["origins"].items()}

    assert sorted(path.name for path in host_layer.iterdir()) == sorted(
        path.name for path in built_layer.iterdir()
    )
    assert result["version"] == [3, 12]
    for name in ("endpoint_optimizer", "pydantic_core", "aws_lambda_powertools", "aws_xray_sdk"):
        assert origins[name].is_relative_to(host_layer), (name, origins[name])
    for name in ("boto3", "botocore"):
        assert origins[name].is_relative_to(runtime_sdk), (name, origins[name])
    assert result["botocore_traced"]
