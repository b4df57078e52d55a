"""One avatar: state, emotions, animations, speech, pictures, its event log and live stream."""

from __future__ import annotations

from typing import Any

from client.streams import AvatarEventStream
from client.transport import Transport
from serve_app.rendering.models import FrameRequest
from serve_app.schemas import API_PREFIX
from serve_app.schemas.avatars import (
    AnimationRequest,
    AnimationView,
    EmotionPatch,
    EmotionRequest,
    EmotionView,
    EventPage,
    StatePatchRequest,
    StateView,
)
from serve_app.schemas.speech import SpeakResult
from serve_app.speaking.models import SpeakRequest, VoiceAttachRequest


def body(model: Any) -> dict[str, Any]:
    """What the client set on a request model, as JSON: fields left out stay out, so the
    service fills them (its configuration, the avatar's voice...)."""
    out: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return out


def if_match(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}


class AvatarHandle:
    """``client.avatar("ada")``: calls about one avatar (created on its first write)."""

    def __init__(self, transport: Transport, avatar_id: str) -> None:
        self._t = transport
        self.avatar_id = avatar_id
        self._path = f"{API_PREFIX}/{avatar_id}"

    async def state(self, version: int | None = None) -> StateView:
        """The current state, or the state as of ``version``."""
        reply = await self._t.request("GET", f"{self._path}/state", params={"version": version})
        return StateView.model_validate(reply.json())

    async def patch_state(
        self, state: dict[str, Any], *, expected_version: int | None = None
    ) -> StateView:
        req = StatePatchRequest.model_validate({"state": state})
        reply = await self._t.request(
            "PATCH", f"{self._path}/state", json_body=body(req), headers=if_match(expected_version)
        )
        return StateView.model_validate(reply.json())

    async def set_emotion(
        self,
        emotion: str,
        intensity: float | None = None,
        transition_ms: int | None = None,
        *,
        expected_version: int | None = None,
    ) -> EmotionView:
        fields = {
            "avatar_id": self.avatar_id,
            "emotion": emotion,
            "intensity": intensity,
            "transition_ms": transition_ms,
        }
        req = EmotionRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        reply = await self._t.request(
            "POST",
            f"{API_PREFIX}/emotions",
            json_body=body(req),
            headers=if_match(expected_version),
        )
        return EmotionView.model_validate(reply.json())

    async def emotion(self) -> EmotionView:
        reply = await self._t.request("GET", f"{self._path}/emotions")
        return EmotionView.model_validate(reply.json())

    async def patch_emotion(self, **fields: Any) -> EmotionView:
        req = EmotionPatch.model_validate(fields)
        reply = await self._t.request("PATCH", f"{self._path}/emotions", json_body=body(req))
        return EmotionView.model_validate(reply.json())

    async def animate(self, name: str, **options: Any) -> AnimationView:
        """Trigger an animation (``nod``, ``shake``, ``tilt``...); options ``loop``,
        ``duration_ms``, ``intensity``."""
        req = AnimationRequest.model_validate({"name": name, **options})
        reply = await self._t.request("POST", f"{self._path}/animations", json_body=body(req))
        return AnimationView.model_validate(reply.json())

    async def speak(self, text: str, **options: Any) -> SpeakResult:
        """Synthesise ``text``, store the WAV and record ``SpeechStarted`` (with its lip-sync
        track); options ``voice``, ``rate``, ``pitch``, ``volume``, ``ssml``, ``format``."""
        req = SpeakRequest.model_validate({"text": text, **options})
        reply = await self._t.request("POST", f"{self._path}/speak", json_body=body(req))
        return SpeakResult.model_validate(reply.json())

    async def interrupt(self) -> dict[str, Any]:
        reply = await self._t.request("POST", f"{self._path}/speak/interrupt")
        out: dict[str, Any] = reply.json()
        return out

    async def attach_voice(self, voice: str, **prosody: Any) -> dict[str, Any]:
        """Give the avatar its own voice (``rate``, ``pitch``, ``volume`` optional)."""
        req = VoiceAttachRequest.model_validate({"voice": voice, **prosody})
        reply = await self._t.request("POST", f"{self._path}/voice/attach", json_body=body(req))
        out: dict[str, Any] = reply.json()
        return out

    async def detach_voice(self) -> dict[str, Any]:
        out: dict[str, Any] = (await self._t.request("DELETE", f"{self._path}/voice/detach")).json()
        return out

    async def voice_status(self) -> dict[str, Any]:
        out: dict[str, Any] = (await self._t.request("GET", f"{self._path}/voice/status")).json()
        return out

    async def render(self, **options: Any) -> bytes:
        """One frame of the current state (PNG unless ``format="jpeg"|"webp"``); options are
        :class:`FrameRequest`'s (``width``, ``height``, ``emotion``, ``traits``...)."""
        req = FrameRequest.model_validate(options)
        reply = await self._t.request("POST", f"{self._path}/render", json_body=body(req))
        return reply.body

    async def event_page(self, from_version: int = 1, limit: int = 100) -> EventPage:
        reply = await self._t.request(
            "GET", f"{self._path}/events", params={"from_version": from_version, "limit": limit}
        )
        return EventPage.model_validate(reply.json())

    def events(self, from_version: int | None = None) -> AvatarEventStream:
        """``async for event in avatar.events(from_version=1)``: every event from that version
        on, then live ones, across reconnections (no gap, no duplicate)."""
        return AvatarEventStream(self._t, self.avatar_id, from_version)
