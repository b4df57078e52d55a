"""Partial trait changes: checked one trait at a time, then merged over a base set of traits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from events.avatar import Traits

TRAIT_NAMES: tuple[str, ...] = tuple(Traits.model_fields)


def check_trait_patch(patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` as a dict if every key is a trait and every value valid for it.

    Raises ``ValueError`` naming the first unknown trait or bad value (request models turn it
    into a 422). Traits are independent of each other, so checking each alone is enough.
    """
    unknown = sorted(set(patch) - set(TRAIT_NAMES))
    if unknown:
        raise ValueError(f"unknown trait(s): {', '.join(unknown)}; known: {', '.join(TRAIT_NAMES)}")
    for name, value in patch.items():
        try:
            Traits.model_validate({name: value})
        except ValidationError as e:
            raise ValueError(f"{name}: {e.errors()[0]['msg']}") from None
    return dict(patch)


def merge_traits(base: Traits, patch: Mapping[str, Any]) -> Traits:
    """``base`` with the traits in ``patch`` replaced (validated again as a whole)."""
    if not patch:
        return base
    return Traits.model_validate({**base.model_dump(), **check_trait_patch(patch)})
