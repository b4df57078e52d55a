"""A tenant's preset catalog, render configuration and default voice: one of each per gateway
view (:attr:`Gateway.catalogs`), each a fold of its stream kept current.

Kept beside the gateway (not in it) so that each stays small; both read the gateway's journal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors.catalog import ConfigStore, DefaultVoice, PresetCatalog
from events.journal import Journal
from events.render_config import RenderConfig

if TYPE_CHECKING:
    from serve_app.gateway import Gateway


@dataclass(frozen=True)
class Catalogs:
    presets: PresetCatalog
    config: ConfigStore
    voice: DefaultVoice

    @classmethod
    def of(cls, journal: Journal, tenant: str) -> Catalogs:
        return cls(
            PresetCatalog(journal, tenant),
            ConfigStore(journal, tenant),
            DefaultVoice(journal, tenant),
        )


async def render_config(gw: Gateway) -> RenderConfig:
    """The current render configuration (catches up with the journal: one small read)."""
    state = await asyncio.to_thread(gw.catalogs.config.get)
    return state.config
