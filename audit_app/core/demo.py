"""The demo data `make run` loads (`flask demo load`): each domain registers its step, run in order.

Steps share a :class:`Demo` record: the accounts step creates the partnership and its people, the
questionnaires step publishes the library, the case-audit step plans and fills its rounds. Every step
is idempotent: loading again adds only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Demo:
    """What the steps have made so far."""

    partnership_id: int | None = None
    #: the demo's people by part ("admin", "qa", "lead")
    users: dict[str, Any] = field(default_factory=dict)
    #: the partnerships were created by this load (not found from an earlier one)
    created: bool = False
    questionnaires_added: int = 0
    #: lines to print after loading (the demo's people and password)
    notes: list[str] = field(default_factory=list)


_STEPS: dict[str, tuple[int, Callable[[Demo], None]]] = {}


def register_demo_step(order: int, step: Callable[[Demo], None]) -> None:
    """Run ``step`` when the demo loads, after every step with a smaller ``order``."""
    _STEPS[f"{step.__module__}.{step.__qualname__}"] = (order, step)


def load_demo() -> Demo:
    """Run every registered step, in order; what they made."""
    demo = Demo()
    for _, step in sorted(_STEPS.values(), key=lambda item: item[0]):
        step(demo)
    return demo
