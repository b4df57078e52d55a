"""The floor for bench/actors.py: the same command route in plain FastAPI + uvicorn, with the
entity in-process (no Ray, no Serve), on the same SQLite journal settings.

Run by the benchmark as ``uvicorn bench.floor_app:app``; ``AVATAR_JOURNAL`` names the journal.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from actors.avatar import AvatarAggregate
from actors.commands import SetEmotion
from actors.config import EntityConfig
from actors.entity import EntityRuntime
from actors.naming import stream_id
from events.factory import open_journal
from serve_app.schemas.avatars import EmotionRequest

app = FastAPI()
_journal = open_journal(os.environ["AVATAR_JOURNAL"])
_config = EntityConfig(journal_url=os.environ["AVATAR_JOURNAL"])
_entities: dict[str, EntityRuntime[Any]] = {}


async def entity(avatar_id: str) -> EntityRuntime[Any]:
    rt = _entities.get(avatar_id)
    if rt is None:
        rt = EntityRuntime(
            AvatarAggregate(),
            "default",
            avatar_id,
            stream_id("avatar", "default", avatar_id),
            _journal,
            _config,
        )
        await rt.activate()
        _entities[avatar_id] = rt
    return rt


@app.post("/api/v1/avatars/emotions")
async def set_emotion(body: EmotionRequest) -> dict[str, Any]:
    rt = await entity(body.avatar_id)
    result = await rt.execute(SetEmotion(emotion=body.emotion, intensity=body.intensity))
    return {"avatar_id": body.avatar_id, "emotion": body.emotion, "version": result.version}


@app.get("/api/v1/avatars/{avatar_id}/state")
async def get_state(avatar_id: str) -> dict[str, Any]:
    rt = await entity(avatar_id)
    return {"avatar_id": avatar_id, **rt.view()}
