"""Every public package re-exports its names in a complete, sorted (ruff-style) `__all__`."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize("name", ["reasoning", "reasoning.models", "reasoning.graphs"])
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert all(hasattr(module, n) for n in exported)
    public = {
        n for n, v in vars(module).items() if not n.startswith("_") and not inspect.ismodule(v) and n != "annotations"
    }
    assert public <= set(exported), public - set(exported)
