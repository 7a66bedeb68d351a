"""The layout keeps its promises: dependencies point one way, the core is pure, modules stay small.

Each package's ``__init__`` docstring says what it may import; this holds the code to it, so an
import that runs against the data flow (DESIGN §3) fails here rather than in a review.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "syncer"
MAX_LINES = 420

#: What each part may import of syncer (a part is a top-level module or a package).
BELOW = {
    "errors": set(),
    "config": {"errors", "config"},
    "core": {"config", "errors", "core"},
    "connectors": {"config", "errors", "core", "connectors"},
    "cache": {"config", "errors", "core", "cache"},
    "run": {"config", "errors", "core", "connectors", "cache", "run"},
    "operate": {"config", "errors", "core", "connectors", "cache", "run", "operate"},
    "sandbox": {"sandbox"},
}
EVERYTHING = {*BELOW, "syncer", "sandbox.demo", "cli"}
#: Parts at the edge: the command line (a package: its modules are one part) and the demo.
TOP = {
    "cli": EVERYTHING,
    "sandbox.demo": EVERYTHING - {"cli"},
    "sandbox.demo_engagement": EVERYTHING - {"cli"},
    "__main__": {"cli"},
    "__init__": set(),
}
#: Third-party packages each part may use beyond the standard library (None: any declared one).
THIRD_PARTY: dict[str, set[str] | None] = {
    "core": set(),
    "config": {"yaml"},
    "connectors": {"requests", "urllib3", "backoff"},
    "cache": {"sqlite_utils"},
    "sandbox": set(),
}
#: Modules outside core that must stay free of I/O too: the pure arithmetic the clients page by.
PURE_ELSEWHERE = [
    "connectors/answers.py",
    "connectors/paging.py",
    "connectors/hubspot/search.py",
    "connectors/hubspot/full.py",
    "connectors/mailchimp/batches.py",
    "config/validation.py",
]
IO = {"requests", "sqlite3", "sqlite_utils", "socket", "http", "urllib", "subprocess", "time", "os"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def _part(dotted: str) -> str:
    """The layer a module belongs to: ``sandbox.demo`` and top-level modules are their own."""
    top = dotted.split(".")[0]
    if dotted in TOP:
        return dotted
    if top in BELOW or top == "cli":
        return top
    return dotted


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = ["syncer", *path.relative_to(PACKAGE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            if node.module is None or module == "syncer":
                found.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                found.add(module)
    return found


def _syncer_part(name: str) -> str | None:
    """``syncer.core.models`` -> ``core``; ``syncer.__version__`` -> ``syncer``; others None."""
    if name != "syncer" and not name.startswith("syncer."):
        return None
    rest = name.split(".")[1:]
    if not rest or rest[0].startswith("__"):
        return "syncer"
    if rest[:2] in (["sandbox", "demo"], ["sandbox", "demo_engagement"]):
        return "sandbox.demo"  # the demo's steps, which drive the whole job
    return rest[0]


@pytest.mark.parametrize("path", _modules(), ids=_dotted)
def test_imports_point_down_the_data_flow(path: Path) -> None:
    part = _part(_dotted(path))
    allowed = TOP.get(part, BELOW.get(part, set()))
    wrong = {
        name
        for name in _imports(path)
        if (target := _syncer_part(name)) is not None and target not in allowed
    }
    assert not wrong, f"{_dotted(path)} ({part}) may not import {sorted(wrong)}"


@pytest.mark.parametrize("path", _modules(), ids=_dotted)
def test_third_party_imports_stay_where_they_belong(path: Path) -> None:
    permitted = THIRD_PARTY.get(_part(_dotted(path)))
    if permitted is None:
        return
    foreign = {
        top
        for name in _imports(path)
        if (top := name.split(".")[0]) != "syncer"
        and top not in sys.stdlib_module_names
        and top != "__future__"
    }
    assert foreign <= permitted, f"{_dotted(path)} imports {sorted(foreign - permitted)}"


def test_nothing_outside_the_sandbox_imports_it_but_the_cli() -> None:
    importers = {
        _part(_dotted(path))
        for path in _modules()
        if not _dotted(path).startswith("sandbox")
        and any(_syncer_part(name) in ("sandbox", "sandbox.demo") for name in _imports(path))
    }
    assert importers == {"cli"}


@pytest.mark.parametrize(
    "path",
    [*sorted((PACKAGE / "core").glob("*.py")), *(PACKAGE / name for name in PURE_ELSEWHERE)],
    ids=_dotted,
)
def test_pure_modules_import_no_io(path: Path) -> None:
    """Decisions stay testable: these modules take values and return values, nothing more."""
    io = {name for name in _imports(path) if name.split(".")[0] in IO}
    assert not io, f"{_dotted(path)} imports {sorted(io)}"


def test_every_package_says_what_lives_there_and_what_it_may_import() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if init.parent == PACKAGE:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in doc, f"{init.relative_to(ROOT)} has no docstring saying what it imports"


@pytest.mark.parametrize("path", _modules(), ids=_dotted)
def test_modules_stay_small(path: Path) -> None:
    """About 400 lines at most: past that a module holds more than one concern; split it."""
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_dotted(path)} has {lines} lines"
