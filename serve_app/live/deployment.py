"""The Live deployment: replicas that hold live streams' peer connections.

A replica holds up to ``live_max_streams_per_replica`` streams on its event loop (RTP, ICE,
DTLS and the event long-polls are all asynchronous), draws their frames in a small thread pool
and reports how many it holds to Serve's autoscaler (``record_autoscaling_stats``; the policy
is :mod:`serve_app.live.scaling`). Requests about an existing stream (stop, status) reach the
replica holding it through the live registry (:mod:`actors.live`), which this replica
long-polls. A stream started with an API key ends when that key is revoked (checked on each
poll, about every second). Expected failures come back as data
(``{"error": {status, code, message}}``), as the Renderer's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from ray import serve

from actors.directory import Directory, make_directory
from actors.heap import freeze_startup_heap
from actors.naming import DEFAULT_TENANT, Kind, stream_id
from actors.remote import live_registry, shared_journal
from events.avatar import AvatarState, SpeechStarted
from events.journal import Journal
from events.records import RecordedEvent
from media.speech import SpeechError, synthesize
from media.video import PcmAudio
from serve_app.auth.keys import KeyRing
from serve_app.errors import Failure
from serve_app.live import ice
from serve_app.live.stream import BadOffer, LiveOptions, LiveStream
from serve_app.rendering.audio import stored_wav
from serve_app.rendering.outputs import AssetOutputs, open_output_store
from serve_app.rendering.timelines import session_seed
from serve_app.settings import Settings

log = logging.getLogger(__name__)

_DEFAULTS = Settings()
_POLL_S = 1.0


def live_key(tenant: str, session_id: str) -> str:
    """A live stream's name: ``live:<tenant>:<session_id>`` (one per session)."""
    return f"live:{tenant}:{session_id}"


class _Source:
    """Follows one tenant's entities through the directory's long-poll, gaps through the
    journal."""

    def __init__(self, directory: Directory, journal: Journal, tenant: str) -> None:
        self.directory = directory
        self.journal = journal
        self.tenant = tenant

    async def wait(
        self, kind: str, entity_id: str, after_version: int, timeout: float
    ) -> dict[str, Any]:
        k: Kind = "avatar" if kind == "avatar" else "session"
        return await self.directory.call(  # type: ignore[no-any-return]
            k, self.tenant, entity_id, "wait", after_version, timeout
        )

    async def read(
        self, kind: str, entity_id: str, from_version: int, to_version: int
    ) -> list[RecordedEvent]:
        k: Kind = "avatar" if kind == "avatar" else "session"
        stream = stream_id(k, self.tenant, entity_id)
        return await asyncio.to_thread(self.journal.read, stream, from_version, to_version)


@serve.deployment(
    name="Live",
    ray_actor_options={"num_cpus": _DEFAULTS.live_num_cpus},
    max_ongoing_requests=100,  # offers, stops and status reads are short
    autoscaling_config=_DEFAULTS.live_autoscaling(),
    graceful_shutdown_timeout_s=60,
)
class Live:
    def __init__(self, settings: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO)
        self.settings = Settings.model_validate(settings)
        ice.configure_process(self.settings)
        self.directory = make_directory(
            self.settings.entity_config(),
            self.settings.placement,
            self.settings.host_count,
            self.settings.max_entities_per_host,
        )
        self.journal = shared_journal(self.settings.journal_url)
        self.executor = ThreadPoolExecutor(
            self.settings.live_draw_threads, thread_name_prefix="live-draw"
        )
        self.streams: dict[str, LiveStream] = {}
        self.replica = f"{_replica_tag() or 'replica'}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.registry = live_registry()
        self._control: asyncio.Task[None] | None = None
        self.owners: dict[str, str] = {}
        """Live stream key -> the API key that started it (it ends when that key is revoked)."""
        self.keys = KeyRing(self.journal, self.settings.key_refresh_s)
        freeze_startup_heap()  # frames are drawn on a schedule: no full GC pass over start-up

    # ------------------------------------------------------------------ requests

    async def offer(
        self,
        session_id: str,
        avatar_id: str,
        avatar: dict[str, Any],
        avatar_version: int,
        session_version: int,
        sdp: str,
        options: dict[str, Any],
        tenant: str = DEFAULT_TENANT,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """Start the session's stream from the peer's offer: ``{"sdp", "type": "answer",
        "status"}``, or ``{"error": ...}`` (422 a bad offer, 503 this replica is full).
        ``owner``: the id of the API key that asked, if one did."""
        self._controlling()
        key = live_key(tenant, session_id)
        old = self.streams.get(key)
        if old is not None:
            await old.end("replaced by a new offer")
        if len(self.streams) >= self.settings.live_max_streams_per_replica:
            return _error("live_capacity", "this replica holds all the live streams it can")
        stream = LiveStream(
            session_id=session_id,
            avatar_id=avatar_id,
            avatar=AvatarState.model_validate(avatar),
            avatar_version=avatar_version,
            session_version=session_version,
            options=LiveOptions(**options),
            seed=session_seed(session_id),
            settings=self.settings,
            source=_Source(self.directory, self.journal, tenant),
            load_clip=partial(self._load_clip, open_output_store(self.settings, tenant=tenant)),
            executor=self.executor,
            on_end=partial(self._ended, key),
        )
        try:
            answer = await stream.answer(sdp)
        except BadOffer as e:
            return _error("invalid_sdp", str(e))
        self.streams[key] = stream
        if owner is None:
            self.owners.pop(key, None)
        else:
            self.owners[key] = owner
        await self.registry.claim.remote(key, self.replica, self._status(stream))
        return {"sdp": answer, "type": "answer", "status": self._status(stream)}

    async def stop(
        self, session_id: str, reason: str = "deleted", tenant: str = DEFAULT_TENANT
    ) -> dict[str, Any] | None:
        """End the session's stream if this replica holds it (the registry's stop is the way
        that reaches the right replica); its final status."""
        stream = self.streams.get(live_key(tenant, session_id))
        if stream is None:
            return None
        await stream.end(reason)
        return self._status(stream)

    async def record_autoscaling_stats(self) -> dict[str, float]:
        """What Serve's autoscaler reads (``serve_app.live.scaling``)."""
        return {"live_streams": float(len(self.streams))}

    async def stats(self) -> dict[str, Any]:
        return {"replica": self.replica, "pid": os.getpid(), "live_streams": len(self.streams)}

    # ------------------------------------------------------------------ internals

    def _status(self, stream: LiveStream) -> dict[str, Any]:
        return {**stream.status(), "replica": self.replica, "pid": os.getpid()}

    def _load_clip(self, outputs: AssetOutputs, event: SpeechStarted) -> PcmAudio | None:
        """The utterance's stored WAV (what ``speak`` recorded); spoken again from its text
        only when that asset is gone (as replays do)."""
        if event.audio_asset_id:
            found = outputs.lookup(event.audio_asset_id)
            if found is not None:
                clip = stored_wav(found[0])
                if clip is not None:
                    return clip
        try:
            spoken = synthesize(event.text, event.voice_id)
        except SpeechError:
            return None
        return PcmAudio(spoken.pcm.astype("int16"), spoken.sample_rate)

    async def _ended(self, key: str, stream: LiveStream) -> None:
        if self.streams.get(key) is stream:
            del self.streams[key]
            self.owners.pop(key, None)
        with contextlib.suppress(Exception):
            await self.registry.release.remote(key, self.replica, self._status(stream))

    def _controlling(self) -> None:
        if self._control is None or self._control.done():
            self._control = asyncio.get_running_loop().create_task(self._control_loop())

    async def _control_loop(self) -> None:
        """Long-poll the registry: report the streams' statuses, end those asked to end."""
        while True:
            statuses = {key: self._status(s) for key, s in self.streams.items()}
            try:
                stops = await self.registry.poll.remote(self.replica, statuses, _POLL_S)
            except Exception as e:  # the registry restarting: it rebuilds from our polls
                log.warning("live registry poll failed: %s", e)
                self.registry = live_registry()
                await asyncio.sleep(0.5)
                continue
            for key in stops:
                stream = self.streams.get(key)
                if stream is not None:
                    stream.end("deleted")
            await self._end_revoked()

    async def _end_revoked(self) -> None:
        """End the streams whose API key was revoked since they started."""
        if not self.owners:
            return
        try:
            await asyncio.to_thread(self.keys.refresh)
        except Exception as e:  # the journal away: checked again on the next poll
            log.warning("live: cannot read the keys: %s", e)
            return
        for key, owner in list(self.owners.items()):
            stream = self.streams.get(key)
            if stream is not None and not self.keys.active(owner):
                log.info("live stream %s: its key %s was revoked", key, owner)
                stream.end("key revoked")

    async def __del__(self) -> None:
        """Serve stops this replica: its streams end (their peers may offer again)."""
        for stream in list(self.streams.values()):
            await stream.end("service stopping")
        self.executor.shutdown(wait=False)


def _error(code: str, message: str) -> dict[str, Any]:
    """A refusal as data (its status is the edge's table's)."""
    return {"error": Failure(code, message).to_json()}


def _replica_tag() -> str | None:
    try:
        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # outside a replica
        return None
