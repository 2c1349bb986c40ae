"""Package attributes imported on first use (PEP 562), so that ``nwb-it --help`` does not load pynwb or torch.

Examples
--------
>>> __getattr__, __dir__ = lazy_attributes("json", {"dumps": "json"})
>>> __getattr__("dumps")({"a": 1})
'{"a": 1}'
"""
from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_attributes(package: str, where: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: name -> the module (relative to ``package``) that defines it."""
    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(importlib.import_module(package), name, value)     # looked up once
        return value

    def __dir__() -> list[str]:
        return sorted([*vars(importlib.import_module(package)), *where])
    return __getattr__, __dir__
