"""The package layout is the one docs/architecture.md draws: imports only point down its table."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "layers" / "endpoint_optimizer" / "endpoint_optimizer"
ARCHITECTURE = REPO / "docs" / "architecture.md"
ROW = re.compile(r"^\| `(?P<name>\w+)` \| [^|]+ \| (?P<imports>[^|]+) \|$")
# What decide's pure modules may take from infra: the settings they are judged by, nothing that does I/O.
PURE_DECIDE_INFRA = {"infra.settings", "infra.targets"}
AWS_SDKS = ("boto3", "botocore", "mypy_boto3_", "slack_sdk")


def allowed_imports() -> dict[str, set[str] | None]:
    """package -> the packages it may import (None: every package), read from the doc's table."""
    table: dict[str, set[str] | None] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line.strip()):
            imports = match["imports"].strip()
            table[match["name"]] = (
                None
                if imports == "every package"
                else {name.strip() for name in imports.split(",") if name.strip() not in {"-", ""}}
            )
    return table


@dataclass(frozen=True)
class Import:
    module: str  # e.g. "decide.ladder" (relative to endpoint_optimizer)
    imported: str  # e.g. "infra.settings", or a third-party top-level name
    type_checking_only: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(part for part in parts if part != "__init__") or "__init__"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, module: str | None = None) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = _type_checking_lines(tree)
    module = module or _module_name(path)
    found: list[Import] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                target = ".".join(["endpoint_optimizer", *base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names = [target] + (
                [f"{target}.{alias.name}" for alias in node.names] if target == "endpoint_optimizer" else []
            )
        for name in names:
            if name == "endpoint_optimizer":
                continue
            imported = (
                name.removeprefix("endpoint_optimizer.") if name.startswith("endpoint_optimizer.") else name
            )
            found.append(Import(module, imported, node.lineno in guarded))
    return found


def own(imported: str) -> bool:
    return (PACKAGE / imported.split(".", maxsplit=1)[0]).exists() or (
        PACKAGE / f"{imported.split('.', maxsplit=1)[0]}.py"
    ).exists()


def layer_of(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def upward_imports(module: str, imports: list[Import], table: dict[str, set[str] | None]) -> list[str]:
    layer = layer_of(module)
    allowed = table.get(layer, set())
    if allowed is None:
        return []
    return sorted(
        item.imported
        for item in imports
        if own(item.imported) and layer_of(item.imported) not in allowed | {layer}
    )


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_architecture_table_places_every_package_and_module() -> None:
    """GIVEN the package's modules and the table in docs/architecture.md
    WHEN each top-level module or subpackage is looked up
    THEN every one has a row (a new package is drawn before it is imported)."""
    table = allowed_imports()
    assert {"models", "infra", "scan", "decide", "notify", "act", "cli"} <= set(table)
    unplaced = {layer_of(_module_name(path)) for path in MODULES} - set(table) - {"__init__"}
    assert not unplaced, f"not in docs/architecture.md's table: {sorted(unplaced)}"
    for name, imports in table.items():
        assert imports is None or imports <= set(table), f"{name} names an unknown package"


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_imports_only_point_down_the_architecture_table(path: Path) -> None:
    """GIVEN a module of endpoint_optimizer
    WHEN its imports of the package are read
    THEN each is of its own package or one its row in docs/architecture.md allows."""
    module = _module_name(path)
    wrong = upward_imports(module, imports_of(path), allowed_imports())
    assert not wrong, f"{module} imports {wrong}, above it in docs/architecture.md"


@pytest.mark.parametrize(
    "path",
    [
        path
        for path in MODULES
        if _module_name(path).startswith("decide") and not _module_name(path).startswith("decide.pricing")
    ],
    ids=_module_name,
)
def test_decisions_are_pure(path: Path) -> None:
    """GIVEN a module of decide/ (outside pricing/, which reads the Price List)
    WHEN its run-time imports are read
    THEN it imports no AWS or Slack SDK and nothing of infra that does I/O."""
    runtime = [item for item in imports_of(path) if not item.type_checking_only]
    sdks = sorted(item.imported for item in runtime if item.imported.startswith(AWS_SDKS))
    io = sorted(
        item.imported
        for item in runtime
        if layer_of(item.imported) == "infra" and item.imported not in PURE_DECIDE_INFRA
    )
    assert not sdks and not io, f"{_module_name(path)} imports {sdks + io}"


def test_the_import_check_finds_an_import_that_points_up(tmp_path: Path) -> None:
    """GIVEN a scan module that imports act and a relative import of notify
    WHEN its imports are checked against the table
    THEN both are reported (the check above can fail)."""
    sample = tmp_path / "region.py"
    sample.write_text(
        "from endpoint_optimizer.act.park import park\n"
        "from ..notify import slack\n"
        "from endpoint_optimizer.infra.clients import Clients\n"
    )
    imports = imports_of(sample, module="scan.region")
    assert upward_imports("scan.region", imports, allowed_imports()) == ["act.park", "notify"]
