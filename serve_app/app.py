"""The FastAPI app, the Serve ingress deployment and the typed application builder.

``serve run ray_config.yaml`` imports :func:`build_app`; ``avatar-service serve`` calls it too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from actors import heap
from serve_app import metrics, streams
from serve_app.auth.cors import Cors
from serve_app.auth.edge import AuthMiddleware, is_open
from serve_app.auth.mode import resolve_auth
from serve_app.cluster import check_cluster
from serve_app.errors import JSONResponse, install_error_handlers
from serve_app.gateway import Gateway
from serve_app.http import API_PREFIX
from serve_app.idempotency import IdempotencyMiddleware
from serve_app.live.deployment import Live
from serve_app.metrics import LatencyMiddleware
from serve_app.renderer import Renderer
from serve_app.routes import (
    admin,
    assets,
    avatars,
    catalog,
    config,
    console,
    live,
    models,
    performance,
    render,
    sessions,
    speech,
    system,
    tokens,
    voices,
)
from serve_app.settings import Settings
from serve_app.speaker import Speech

PREFIX = API_PREFIX

log = logging.getLogger(__name__)


def create_app(gw: Gateway | None = None) -> FastAPI:
    """The FastAPI app. ``gw``: the replica's one Gateway, held as ``app.state.gateway`` (routes
    reach it through ``GatewayDep``, middlewares through ``gateway_of(scope)``); ``None`` for an
    app that only documents the API (its OpenAPI document)."""
    app = FastAPI(
        default_response_class=JSONResponse,  # escapes what has no UTF-8 form (see errors.py)
        title="Avatar Service",
        version=system.service_version(),
        description="Talking avatars driven by event-sourced actors on Ray. Every state change "
        "is an event; state, replays and videos are folds over the event log.",
    )
    app.state.gateway = gw
    install_error_handlers(app)
    # outermost last: CORS answers preflights and decorates refusals; auth before every route
    app.add_middleware(IdempotencyMiddleware, api=app)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(LatencyMiddleware)
    app.add_middleware(Cors)
    app.include_router(system.router)
    app.include_router(system.router, prefix=PREFIX)
    # The hot routes first: FastAPI, and Serve for its metrics, find a request's route by
    # trying each in turn (~1.5 us a route here), and the avatar's state and commands came
    # after 70 others. Its /{avatar_id}/<word> routes shadow no other route (a unit test
    # resolves every route's own path to itself).
    app.include_router(avatars.router, prefix=PREFIX)
    app.include_router(admin.router)
    app.include_router(tokens.router, prefix=PREFIX)
    app.include_router(assets.router, prefix=PREFIX)
    app.include_router(models.router, prefix=PREFIX)
    app.include_router(render.router, prefix=PREFIX)
    app.include_router(speech.router, prefix=PREFIX)
    app.include_router(voices.router, prefix=PREFIX)
    app.include_router(sessions.router, prefix=PREFIX)
    app.include_router(live.router, prefix=PREFIX)
    app.include_router(streams.router, prefix=PREFIX)
    for router in (catalog.router, config.router, performance.router):
        app.include_router(router, prefix=PREFIX)
    app.include_router(console.router)  # the web console at /, its files under /web/
    _document_errors_and_auth(app)
    return app


_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}
_REFUSALS = {
    "401": "No key, an unknown or revoked key, or a bad token (error JSON; WWW-Authenticate).",
    "403": "A token used outside its scope (error JSON).",
}
_WRITE_REFUSALS = {
    "429": "Over the key's rate limit or quota (error JSON; Retry-After).",
}


def _document_refusals(method: str, responses: dict[str, Any]) -> None:
    """What the edge may answer before the route runs: every route may refuse a credential;
    writes may be over a limit."""
    refusals = _REFUSALS | (_WRITE_REFUSALS if method in ("post", "put", "patch", "delete") else {})
    for status, text in refusals.items():
        responses.setdefault(status, {"description": text, "content": _ERROR_JSON})


#: Every error body (serve_app.errors.error_body): what the 422s and the others really carry.
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable, machine-readable."},
        "message": {"type": "string"},
        "detail": {"description": "The message again, or the validation problems."},
    },
}


def _document_errors_and_auth(app: FastAPI) -> None:
    """The OpenAPI document says what the service does: errors are our JSON body (FastAPI's
    default 422 schema is replaced), and every route but the open ones takes a key."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["HTTPValidationError"] = ERROR_SCHEMA
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API key or token"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if is_open(path, docs_public=True) and not path.startswith("/admin/"):
                    operation["security"] = []
                    continue
                _document_refusals(method, operation.setdefault("responses", {}))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


@serve.deployment(
    name="Ingress",
    ray_actor_options={"num_cpus": 0},
    max_ongoing_requests=1000,  # each open WebSocket holds a slot; the default 5 starves HTTP
    autoscaling_config=Settings().ingress_autoscaling(),  # build_app applies the settings'
)
@serve.ingress()
class Ingress:
    """The HTTP edge. It holds the replica's one :class:`Gateway` and builds its own app around
    it once constructed (``__serve_build_asgi_app__``, Serve's late-bound ingress), so the app
    holds the gateway and no module-level slot does."""

    def __init__(self, settings: dict[str, Any], **deployments: DeploymentHandle[Any]) -> None:
        """``deployments``: handles of the other deployments (speech, renderer...) by name."""
        logging.basicConfig(level=logging.INFO)
        self.settings = Settings.model_validate(settings)
        check_cluster(self.settings)  # `serve deploy` onto many nodes with local state: refused
        self.gateway = gw = Gateway(self.settings, deployments)
        gw.keys.refresh()
        for tenant in gw.keys.tenants():  # every tenant's orphaned jobs, not only the asked
            gw.for_tenant(tenant)
        for view in gw.views():
            view.render_jobs.ensure_sweeping()  # orphaned render jobs (if a loop runs here)
        log.info(
            "ingress ready: journal %s, auth %s", self.settings.journal_shown, self.settings.auth
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = create_app(self.gateway)
        heap.freeze_startup_heap()  # no full GC pass over start-up objects mid-request
        return app

    async def record_autoscaling_stats(self) -> dict[str, float]:
        """What Serve's autoscaler reads (``serve_app.ingress_scaling``). The window is read
        through its module: Serve pickles this class by value, and a lock cannot be pickled."""
        window = metrics.REQUESTS
        return {
            "http_in_flight": float(window.in_flight),
            "websockets": float(window.websockets),
            "cpu": metrics.PROCESS_CPU.busy(),
        }


class AppArgs(BaseModel):
    """Arguments of :func:`build_app` (``args:`` in ray_config.yaml); unset ones come from
    ``AVATAR_*`` environment variables, then defaults."""

    model_config = ConfigDict(extra="forbid")

    data_dir: str | None = Field(None, description="Data directory (journal, assets).")
    journal: str | None = Field(None, description="Journal URL.")
    settings: dict[str, Any] = Field(default_factory=dict, description="Other Settings fields.")


def resolve_settings(args: AppArgs) -> Settings:
    settings = Settings.from_env(
        {**args.settings, "data_dir": args.data_dir, "journal": args.journal}
    )
    data_dir = Path(settings.data_dir).expanduser().resolve()  # replicas may run elsewhere
    data_dir.mkdir(parents=True, exist_ok=True)
    blob_dir = settings.blob_dir and settings.blob_dir.expanduser().resolve()
    return settings.model_copy(update={"data_dir": data_dir, "blob_dir": blob_dir})


def build_app(args: AppArgs | dict[str, Any]) -> Application:
    """The application: the ingress, bound to the handles of the deployments it calls.

    ``serve run`` passes the config's ``args:`` as a dict; it is validated here.
    """
    if not isinstance(args, AppArgs):
        args = AppArgs.model_validate(args)
    settings = resolve_auth(resolve_settings(args))
    config = settings.model_dump(mode="json")
    renderer = Renderer.options(  # type: ignore[attr-defined]
        ray_actor_options={"num_cpus": settings.renderer_num_cpus},
        max_ongoing_requests=settings.renderer_max_ongoing_requests,
        autoscaling_config=settings.renderer_autoscaling(),
        graceful_shutdown_timeout_s=settings.renderer_graceful_shutdown_s,
    )
    speech = Speech.options(  # type: ignore[attr-defined]
        ray_actor_options={"num_cpus": settings.speech_num_cpus},
        max_ongoing_requests=settings.speech_max_ongoing_requests,
        autoscaling_config=settings.speech_autoscaling(),
    )
    live = Live.options(  # type: ignore[attr-defined]
        ray_actor_options={"num_cpus": settings.live_num_cpus},
        autoscaling_config=settings.live_autoscaling(),
    )
    deployments: dict[str, Application] = {
        "renderer": renderer.bind(config),
        "speech": speech.bind(config),
        "live": live.bind(config),
    }
    return Ingress.options(  # type: ignore[attr-defined,no-any-return]
        max_ongoing_requests=settings.ingress_max_ongoing_requests,
        autoscaling_config=settings.ingress_autoscaling(),
    ).bind(config, **deployments)
