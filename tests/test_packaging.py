"""pyproject.toml declares every third-party package the code imports directly.

A package that only arrives because another one happens to depend on it can vanish with that
package's next release; `cofre` must not work by luck.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
FIRST_PARTY = {*PACKAGES, "tests", "benchmarks"}

# Import name -> distribution, where they differ.
DISTRIBUTION = {
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "PIL": "pillow",
    "psycopg": "psycopg",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements: list[str]) -> dict[str, str]:
    """Canonical distribution name -> its requirement string."""
    return {canonical(re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]): req for req in requirements}


def third_party_imports(*folders: str) -> dict[str, set[str]]:
    """Distribution (canonical) -> the files importing it, module-level or in a function."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {name.split(".")[0] for name in names}:
                    if top in sys.stdlib_module_names or top in FIRST_PARTY:
                        continue
                    dist = canonical(DISTRIBUTION.get(top, top))
                    found.setdefault(dist, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_package_cofre_imports_is_a_declared_dependency():
    dependencies = declared(PYPROJECT["project"]["dependencies"])
    imported = third_party_imports(*PACKAGES)
    assert {"typer", "sqlalchemy", "fsspec", "botocore", "httpx", "pydantic"} <= set(imported)
    missing = {dist: sorted(files) for dist, files in imported.items() if dist not in dependencies}
    assert missing == {}, f"declare these in [project] dependencies: {missing}"


def test_tests_and_benchmarks_import_only_declared_or_dev_packages():
    project = PYPROJECT["project"]
    available = declared(project["dependencies"] + project["optional-dependencies"]["dev"])
    imported = third_party_imports("tests", "benchmarks")
    missing = {dist: sorted(files) for dist, files in imported.items() if dist not in available}
    assert missing == {}, f"declare these in the dev extra: {missing}"


def test_every_dependency_has_a_lower_bound():
    project = PYPROJECT["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert ">=" in requirement or "==" in requirement, requirement
