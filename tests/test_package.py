"""The public surface: what the package and each public module export."""

from __future__ import annotations

import importlib
import pkgutil

import vangnet


def test_package_exports() -> None:
    assert vangnet.__all__ == ["__version__"]
    assert vangnet.__version__ == "0.1.0"


def test_every_module_declares_its_public_names() -> None:
    for info in pkgutil.iter_modules(vangnet.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"vangnet.{info.name}")
        assert module.__doc__, f"vangnet.{info.name} has no docstring"
        names = getattr(module, "__all__", None)
        assert names is not None, f"vangnet.{info.name} has no __all__"
        for name in names:
            assert hasattr(module, name), f"vangnet.{info.name}.__all__ names missing {name}"
