"""`pip install .` installs every module of the project: a module or subpackage missing from
pyproject.toml works from the checkout (and in the tests) but not where the package is installed."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests", "migrations", "bench", "security", "translations", "node_modules", "docs"}


def test_every_module_and_package_is_installed():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    modules = {p.stem for p in ROOT.glob("*.py")}
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in ROOT.glob("**/__init__.py")
        if init.parent.relative_to(ROOT).parts[0] not in NOT_CODE
        and not init.parent.relative_to(ROOT).parts[0].startswith(".")
    }
    assert set(tool["py-modules"]) == modules
    assert set(tool["packages"]) == packages
