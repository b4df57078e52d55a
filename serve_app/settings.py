"""Service settings: a pydantic model read from ``AVATAR_*`` environment variables.

Every field can be set as ``AVATAR_<FIELD>`` (e.g. ``AVATAR_DATA_DIR=/var/lib/avatar``,
``AVATAR_JOURNAL=sqlite:////var/lib/avatar/journal.sqlite``, ``AVATAR_BLOB_DIR=/mnt/shared/blobs``);
the CLI's flags override them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from actors.config import EntityConfig
from actors.naming import DEFAULT_TENANT
from events.picture import MAX_FPS, MAX_SIZE, MIN_FPS, MIN_SIZE
from events.urls import redact_url

ENV_PREFIX = "AVATAR_"


class IceServer(BaseModel):
    """A STUN or TURN server, as ``RTCIceServer`` in a browser."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(Path("data"), description="Journal, assets and renders live here.")
    journal: str | None = Field(
        None,
        description="Journal URL: sqlite:///<path> (default sqlite:///<data_dir>/journal.sqlite) "
        "or postgresql://user:password@host:5432/db (the cluster configuration).",
    )
    blob_dir: Path | None = Field(
        None,
        description="Asset blobs (content-addressed files, <blob_dir>/ab/<sha256>); on a cluster "
        "a directory every node mounts. Default <data_dir>/assets/blobs.",
    )
    host: str = Field("127.0.0.1", description="HTTP bind address (loopback by default).")
    port: int = Field(8000, ge=1, le=65535)
    tenant: str = Field(
        DEFAULT_TENANT, description="The tenant of every request when auth is 'none'."
    )
    placement: Literal["dedicated", "hosted"] = Field(
        "dedicated",
        description="dedicated: one Ray actor per avatar/session; hosted: a pool of host actors "
        "holding many entities each (far more live avatars per node).",
    )
    http_mode: Literal["proxy", "haproxy"] = Field(
        "haproxy",
        description="haproxy: Serve's high-throughput mode (HAProxy ingress, its stats and "
        "metrics rebound to loopback); proxy: Serve's Python HTTP proxy. Applied before Ray "
        "starts (CLI, tests, benchmarks).",
    )
    host_shards: int | None = Field(
        None,
        ge=1,
        description="Host actors of the hosted placement: a fixed number, so every ingress "
        "replica routes an id to the same one whenever it started (spread over the nodes). "
        "Default: 1 on a SQLite journal (it has one writer at a time: a second host would only "
        "take turns at its write lock), 2 on PostgreSQL (about two per node). Change it only "
        "with a full redeploy.",
    )
    entity_transport: Literal["direct", "ray"] = Field(
        "direct",
        description="How the ingress sends entity actors and hosts their commands and state "
        "reads: direct, over a socket each opens on its node's address and guards with a token "
        "handed out through Ray (a Ray actor call costs ~1.5 ms here; the socket ~0.1); ray: as "
        "Ray actor calls.",
    )
    ray_address: str | None = Field(
        None,
        description="The Ray cluster `avatar-service serve` joins: 'auto' (the one `ray start` "
        "made on this machine) or a GCS address host:port. Unset: a fresh local Ray, always.",
    )
    blob_dir_shared: bool = Field(
        False,
        description="Declares blob_dir a directory every node mounts (NFS, a shared volume): "
        "required to run on more than one node.",
    )
    max_entities_per_host: int = Field(
        20_000, ge=1, description="Live entities per host; past it the least recent passivate."
    )
    snapshot_every: int = Field(100, ge=1)
    passivate_after_s: float = Field(300.0, gt=0)
    max_live_actors: int = Field(
        500, ge=1, description="Live dedicated actors in the whole cluster (one registry)."
    )
    subscriber_buffer: int = Field(1000, ge=1)
    heartbeat_s: float = Field(15.0, gt=0, description="WebSocket heartbeat interval.")
    session_ttl_default_s: int = Field(3600, ge=1)
    session_ttl_min_s: int = Field(60, ge=1)
    session_ttl_max_s: int = Field(86_400, ge=1)
    ingress_max_ongoing_requests: int = Field(1000, ge=1)
    ingress_target_requests: float = Field(
        200.0,
        gt=0,
        description="HTTP requests in flight per Ingress replica before another is added.",
    )
    ingress_target_websockets: float = Field(
        2000.0,
        gt=0,
        description="Open WebSockets per Ingress replica before another is added (an idle "
        "subscriber costs memory, not CPU: it is not counted as a request).",
    )
    ingress_target_cpu: float = Field(
        0.7,
        gt=0,
        description="Cores an Ingress replica's process uses before another is added (its "
        "event loop runs on one: below 1, a second starts before the first is full).",
    )
    ingress_cores_per_replica: float = Field(
        2.0,
        gt=0,
        description="Cluster CPUs per Ingress replica that its CPU use may ask for (one busy "
        "replica keeps ~2 cores busy with the hosts behind it; on a 2-core machine a second "
        "one competes with the first).",
    )
    ingress_min_replicas: int = Field(
        1,
        ge=1,
        description="Ingress replicas kept running; on a cluster one per node (2 or more), so "
        "that the loss of a node never takes the only one (then requests wait for a new one).",
    )
    renderer_max_replicas: int = Field(4, ge=1, description="Autoscaling ceiling of Renderer.")
    renderer_num_cpus: float = Field(
        0.5, gt=0, le=64, description="CPUs a Renderer replica reserves (fractional on laptops)."
    )
    renderer_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Nice value added to Renderer replicas (drawing and ffmpeg): renders take "
        "the CPU that live streams and commands leave idle. 0 leaves it alone.",
    )
    renderer_max_ongoing_requests: int = Field(
        2, ge=1, description="Renders one replica runs at once; more queue at the handle."
    )
    renderer_target_ongoing_requests: float = Field(1.0, gt=0)
    renderer_upscale_delay_s: float = Field(2.0, ge=0)
    renderer_downscale_delay_s: float = Field(30.0, ge=0)
    renderer_look_back_period_s: float = Field(5.0, gt=0)
    renderer_graceful_shutdown_s: float = Field(
        900.0, gt=0, description="How long a replica being scaled down may finish its renders."
    )
    max_upload_bytes: int = Field(
        500 * 1024**2,
        ge=1,
        description="Largest asset upload in bytes (500 MiB); larger ones get 413 and leave "
        "nothing on disk.",
    )
    render_timeout_s: float = Field(
        300.0, gt=0, description="Longest a synchronous video render may take (then use a job)."
    )
    render_sync_max_s: float = Field(
        120.0,
        gt=0,
        description="Most video a synchronous render may ask for, in seconds of 512x512 at 30 fps "
        "(bigger, faster or ultra pictures count more); more: 422 render_too_long (use a job).",
    )

    speech_max_replicas: int = Field(2, ge=1, description="Autoscaling ceiling of Speech.")
    speech_num_cpus: float = Field(0.25, gt=0, le=64, description="CPUs a Speech replica reserves.")
    speech_max_ongoing_requests: int = Field(
        8, ge=1, description="Requests one Speech replica holds (it synthesises one at a time)."
    )
    speech_target_ongoing_requests: float = Field(2.0, gt=0)
    speech_upscale_delay_s: float = Field(2.0, ge=0)
    speech_downscale_delay_s: float = Field(30.0, ge=0)
    speech_look_back_period_s: float = Field(5.0, gt=0)
    lipsync_max_audio_bytes: int = Field(
        50 * 1024 * 1024, ge=1, description="Largest client audio /lipsync analyses (then 413)."
    )

    # ------------------------------------------------------------------ live streams (WebRTC)
    ice_servers: list[IceServer] = Field(
        default_factory=list,
        description="STUN/TURN servers offered to live peers: a JSON list of {urls, username, "
        "credential}. None by default: host candidates work on a LAN and on loopback (aiortc's "
        "own default, a public STUN server, is never used).",
    )
    live_ice_addresses: list[str] = Field(
        default_factory=list,
        description="Local addresses a live stream gathers host candidates on (e.g. "
        '["127.0.0.1"] for a browser on the same machine); empty: every interface but loopback.',
    )
    live_mdns: Literal["drop", "resolve"] = Field(
        "drop",
        description="Browsers' mDNS host candidates (xxxx.local): drop them (the browser still "
        "reaches our candidates and is learnt as peer-reflexive) or resolve them by multicast.",
    )
    live_fps: int = Field(30, ge=MIN_FPS, le=MAX_FPS, description="Default live frame rate.")
    live_width: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE, description="Default live width.")
    live_height: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE, description="Default live height.")
    live_connect_timeout_s: float = Field(
        30.0, gt=0, description="A live stream whose peer has not connected by then ends."
    )
    live_disconnected_grace_s: float = Field(
        10.0, gt=0, description="How long a disconnected peer may take to come back."
    )
    live_max_duration_s: float = Field(
        4 * 3600.0, gt=0, description="Longest a live stream lasts (the session may end first)."
    )
    live_max_streams_per_replica: int = Field(
        8, ge=1, description="Live streams one Live replica holds; past it the offer goes on."
    )
    live_target_streams_per_replica: float = Field(
        4.0, gt=0, description="Live streams per replica the autoscaler aims at."
    )
    live_max_replicas: int = Field(4, ge=1, description="Autoscaling ceiling of Live.")
    live_num_cpus: float = Field(
        0.5, gt=0, le=64, description="CPUs a Live replica reserves (a 512x512 stream ~0.15)."
    )
    live_draw_threads: int = Field(
        2, ge=1, description="Worker threads per Live replica drawing frames off the event loop."
    )
    live_upscale_delay_s: float = Field(2.0, ge=0)
    live_downscale_delay_s: float = Field(
        60.0, ge=0, description="A scale-down waits this long (a stream lasts minutes)."
    )
    live_look_back_period_s: float = Field(5.0, gt=0)

    # ------------------------------------------------------------------ tenants and keys
    auth: Literal["auto", "keys", "none"] = Field(
        "auto",
        description="keys: every route but /health and /version needs an API key or token "
        "(the tenant comes from it); none: everything is the `tenant` setting, on loopback "
        "only; auto: keys when an admin key is set or the journal holds a key, else none.",
    )
    admin_key: str | None = Field(
        None, min_length=32, description="Guards /admin/keys (AVATAR_ADMIN_KEY); unset: off."
    )
    token_secret: str | None = Field(
        None,
        min_length=32,
        description="HMAC key of scoped tokens; unset: one made once and kept in the journal.",
    )
    token_max_ttl_s: int = Field(3600, ge=10, description="Longest life of a scoped token.")
    key_refresh_s: float = Field(
        0.5, gt=0, le=5, description="How often a replica reads new keys and revocations."
    )
    docs_public: bool = Field(True, description="/docs, /redoc and /openapi.json need no key.")
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call from a browser (none by default; '*' any).",
    )
    cors_credentials: bool = Field(
        False, description="Allow credentialed CORS requests (explicit origins only)."
    )
    rate_commands_per_s: int = Field(
        1000, ge=1, description="Writes per second per key (renders and speech apart)."
    )
    rate_renders_per_min: int = Field(
        1200, ge=1, description="Renders (frames, sequences, snapshots, replays) per minute."
    )
    rate_speech_per_min: int = Field(
        1200, ge=1, description="Speech requests (lipsync, phonemes, speak) per minute per key."
    )
    quota_render_jobs: int = Field(
        32, ge=1, description="Render jobs one key may have queued or running at once (429)."
    )
    quota_live_streams: int = Field(
        8, ge=1, description="Live streams one key may hold at once (then 429)."
    )
    quota_storage_bytes: int = Field(
        100 * 1024**3,
        ge=0,
        description="Bytes one tenant may store as assets: uploads, renders, speech audio "
        "(100 GiB; a write over it is a 507).",
    )

    def ingress_autoscaling(self) -> dict[str, Any]:
        """The Ingress's ``autoscaling_config``: replicas follow HTTP requests in flight, and
        open WebSockets at their own target (``serve_app.ingress_scaling``)."""
        return {
            "min_replicas": self.ingress_min_replicas,
            "max_replicas": max(4, self.ingress_min_replicas),
            "upscale_delay_s": 5,
            "downscale_delay_s": 60,
            "policy": {
                "policy_function": "serve_app.ingress_scaling:IngressPolicy",
                "policy_kwargs": {
                    "target_requests": self.ingress_target_requests,
                    "target_websockets": self.ingress_target_websockets,
                    "target_cpu": self.ingress_target_cpu,
                    "cores_per_replica": self.ingress_cores_per_replica,
                },
            },
        }

    def live_autoscaling(self) -> dict[str, Any]:
        """Live's ``autoscaling_config``: replicas follow the live streams they hold
        (``serve_app.live.scaling``), not their requests."""
        return {
            "min_replicas": 1,
            "max_replicas": self.live_max_replicas,
            "upscale_delay_s": self.live_upscale_delay_s,
            "downscale_delay_s": self.live_downscale_delay_s,
            "look_back_period_s": self.live_look_back_period_s,
            "metrics_interval_s": 1.0,
            "policy": {
                "policy_function": "serve_app.live.scaling:LiveStreamsPolicy",
                "policy_kwargs": {"target": self.live_target_streams_per_replica},
            },
        }

    def speech_autoscaling(self) -> dict[str, Any]:
        """The Speech deployment's ``autoscaling_config`` (one replica is one espeak-ng)."""
        return _autoscaling(
            self.speech_max_replicas,
            self.speech_target_ongoing_requests,
            self.speech_upscale_delay_s,
            self.speech_downscale_delay_s,
            self.speech_look_back_period_s,
        )

    def renderer_autoscaling(self) -> dict[str, Any]:
        """The Renderer's ``autoscaling_config`` (Serve's defaults take a minute to react)."""
        return _autoscaling(
            self.renderer_max_replicas,
            self.renderer_target_ongoing_requests,
            self.renderer_upscale_delay_s,
            self.renderer_downscale_delay_s,
            self.renderer_look_back_period_s,
        )

    @field_validator("journal")
    @classmethod
    def _shared_journal(cls, url: str | None) -> str | None:
        """Every process of the service (ingress, actors, replicas) opens the journal by URL:
        an in-memory journal would be a different one in each, so it is refused here."""
        if url is None:
            return None
        scheme = url.split(":", 1)[0].lower()
        if scheme == "memory":
            raise ValueError(
                "memory:// gives every process its own journal (sessions would 404); "
                "use sqlite:///path/to.db or postgresql://..."
            )
        if scheme not in ("sqlite", "postgres", "postgresql"):
            raise ValueError(
                f"unknown journal URL {redact_url(url)!r}: use sqlite:///path or postgresql://..."
            )
        return url

    @model_validator(mode="after")
    def _cors(self) -> Settings:
        if self.cors_credentials and "*" in self.cors_origins:
            raise ValueError("cors_credentials needs explicit cors_origins, never '*'")
        return self

    @property
    def journal_url(self) -> str:
        return self.journal or f"sqlite:///{self.data_dir.resolve()}/journal.sqlite"

    @property
    def host_count(self) -> int:
        """``host_shards``, or its default for the journal (see the field); the same in every
        process, since it comes from the settings alone."""
        if self.host_shards is not None:
            return self.host_shards
        return 1 if urlsplit(self.journal_url).scheme == "sqlite" else 2

    @property
    def journal_shown(self) -> str:
        """The journal URL for logs and status pages (no password)."""
        return redact_url(self.journal_url)

    @property
    def asset_index_url(self) -> str:
        """Where asset records live, for every process that opens the asset store (ingress,
        Renderer, Speech): the journal's database when the journal is PostgreSQL (tables of
        their own), else SQLite at ``<data_dir>/assets/index.sqlite``."""
        journal = self.journal_url
        if urlsplit(journal).scheme in ("postgres", "postgresql"):
            return journal
        return f"sqlite:///{self.data_dir.resolve()}/assets/index.sqlite"

    @property
    def asset_blob_dir(self) -> Path:
        """Where asset blobs live: ``blob_dir``, default ``<data_dir>/assets/blobs``."""
        return (self.blob_dir or self.data_dir / "assets" / "blobs").expanduser().resolve()

    def entity_config(self) -> EntityConfig:
        return EntityConfig(
            journal_url=self.journal_url,
            snapshot_every=self.snapshot_every,
            passivate_after_s=self.passivate_after_s,
            buffer_size=self.subscriber_buffer,
            max_live_actors=self.max_live_actors,
            entity_transport=self.entity_transport,
        )

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Settings:
        """Settings from ``AVATAR_*`` variables, then ``overrides`` (ignoring ``None`` values)."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = _json_list(name, raw) if name in _LIST_FIELDS else raw
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            # the values are left out: a journal URL may carry a password
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
                for err in e.errors(include_input=False, include_url=False)
            )
            raise ValueError(f"bad settings (environment {ENV_PREFIX}*): {problems}") from None


def _autoscaling(
    max_replicas: int, target: float, upscale_s: float, downscale_s: float, look_back_s: float
) -> dict[str, Any]:
    """An ``autoscaling_config`` that reacts within seconds (Serve's defaults take a minute)."""
    return {
        "min_replicas": 1,
        "max_replicas": max_replicas,
        "target_ongoing_requests": target,
        "upscale_delay_s": upscale_s,
        "downscale_delay_s": downscale_s,
        "look_back_period_s": look_back_s,
        # Deprecated in favour of the RAY_SERVE_*_AUTOSCALING_METRIC_PUSH_INTERVAL_S
        # variables (set to 1 s in serve_app/raytune.py), but still checked against
        # look_back_period_s (default 10 s would make any look-back under 10 s "invalid").
        "metrics_interval_s": 1.0,
    }


_LIST_FIELDS = ("ice_servers", "live_ice_addresses", "cors_origins")


def _json_list(name: str, raw: str) -> Any:
    """A list setting from the environment: JSON (``[{"urls": "stun:..."}]``), or for plain
    strings a comma-separated list (``127.0.0.1,::1``)."""
    text = raw.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"bad settings (environment {ENV_PREFIX}{name.upper()}): {e}"
            ) from None
    return [part.strip() for part in text.split(",") if part.strip()]
