"""The ingress replica's preset catalog, configuration and default voice, one of each per
gateway.

Kept beside the gateway (not in it) so that each stays small; both read the gateway's journal.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from actors.catalog import ConfigStore, DefaultVoice, PresetCatalog
from events.render_config import RenderConfig
from serve_app.gateway import Gateway


@dataclass(frozen=True)
class Catalogs:
    presets: PresetCatalog
    config: ConfigStore
    voice: DefaultVoice


_by_gateway: weakref.WeakKeyDictionary[Gateway, Catalogs] = weakref.WeakKeyDictionary()


def catalogs(gw: Gateway) -> Catalogs:
    found = _by_gateway.get(gw)
    if found is None:
        found = _by_gateway[gw] = Catalogs(
            PresetCatalog(gw.journal, gw.tenant),
            ConfigStore(gw.journal, gw.tenant),
            DefaultVoice(gw.journal, gw.tenant),
        )
    return found


async def render_config(gw: Gateway) -> RenderConfig:
    """The current render configuration (catches up with the journal: one small read)."""
    state = await asyncio.to_thread(catalogs(gw).config.get)
    return state.config
