"""The package's folders are its layers, and imports only point down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "consent_middleware"

# What each layer may import from the package, besides itself.
ALLOWED = {
    "core": set(),
    "ledger": {"core"},
    "ui": {"core"},
    "web": {"core", "ledger", "ui"},
    "cli": {"core", "ledger", "ui"},
    "django": {"core", "web", "ui"},
    # Other consent managers' records (TCF, ...): a public facade over what core decodes.
    "interop": {"core"},
}
# The core stays free of frameworks and of network, database and file-locking I/O.
CORE_FORBIDDEN = {
    "anyio",
    "django",
    "fcntl",
    "flask",
    "jinja2",
    "markupsafe",
    "psycopg",
    "socket",
    "sqlite3",
    "starlette",
    "werkzeug",
}


def imports_of(path: Path) -> list[tuple[str, str]]:
    """(kind, name) for every import in ``path``: ("package", layer) or ("external", module)."""
    return imports_in(path.read_text(), path.relative_to(PACKAGE).parts[0])


def imports_in(source: str, layer: str) -> list[tuple[str, str]]:
    """The imports of ``source``, a module of ``layer``."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module or ""
                if module.startswith("consent_middleware."):
                    found.append(("package", module.split(".")[1]))
                else:
                    found.append(("external", module.split(".")[0]))
            elif node.level == 1:
                found.append(("package", layer))
            else:
                found.append(("package", (node.module or "").split(".")[0]))
        elif isinstance(node, ast.Import):
            found.extend(("external", alias.name.split(".")[0]) for alias in node.names)
    return found


def modules_in(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = {
        (path.name, name)
        for path in modules_in(layer)
        for kind, name in imports_of(path)
        if kind == "package" and name != layer and name not in ALLOWED[layer]
    }
    assert not wrong, f"{layer} imports {sorted(wrong)}"


def test_the_core_imports_no_framework_and_no_io_module() -> None:
    wrong = {
        (path.name, name)
        for path in modules_in("core")
        for kind, name in imports_of(path)
        if kind == "external" and name in CORE_FORBIDDEN
    }
    assert not wrong, f"the core imports {sorted(wrong)}"


def test_the_package_root_holds_only_the_public_entry_points() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.is_file()}
    assert files == {"__init__.py", "jinja.py", "py.typed"}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert set(ALLOWED) <= folders


def test_the_check_sees_every_spelling_of_an_import() -> None:
    source = (
        "import sqlite3\n"
        "from starlette.types import Scope\n"
        "from ..web.engine import ConsentEngine\n"
        "from consent_middleware.ledger.events import ConsentEvent\n"
        "from .codec import ConsentCookieCodec\n"
    )
    assert imports_in(source, "core") == [
        ("external", "sqlite3"),
        ("external", "starlette"),
        ("package", "web"),
        ("package", "ledger"),
        ("package", "core"),
    ]
