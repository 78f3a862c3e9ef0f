"""The invariant check registry that `o2c ledger verify` runs.

Each app registers the checks of its own tables and caches from its AppConfig.ready().
A check returns a list of human-readable problems; an empty list means the invariant holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CheckFn = Callable[[], list[str]]


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: CheckFn


_registry: dict[str, Check] = {}


def register(name: str, description: str, run: CheckFn) -> None:
    _registry[name] = Check(name=name, description=description, run=run)


def all_checks() -> list[Check]:
    return [_registry[name] for name in sorted(_registry)]
