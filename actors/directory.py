"""Finding entity actors: get-or-create by name, cached handles, retries across crashes.

Used by the Serve ingress. A handle to a dead actor keeps failing, so on an actor error the
handle is dropped and the actor looked up (or created) again. Commands are only retried with an
idempotency key, which the entity remembers in the journal: a retry never records twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

from actors.config import EntityConfig
from actors.errors import EntityError, Unavailable
from actors.naming import NAMESPACE, Kind, actor_name
from actors.remote import ACTOR_CLASSES, REGISTRY_NAME, EntityRegistry

log = logging.getLogger(__name__)

_RETRYABLE = (ActorDiedError, ActorUnavailableError, RayActorError)


class EntityDirectory:
    def __init__(self, config: EntityConfig, attempts: int = 6) -> None:
        self.config = config
        self.attempts = attempts
        self._handles: dict[str, Any] = {}
        self.registry = EntityRegistry.options(
            name=REGISTRY_NAME, namespace=NAMESPACE, get_if_exists=True
        ).remote(config.max_live_actors)

    def handle(self, kind: Kind, tenant: str, entity_id: str) -> Any:
        name = actor_name(kind, tenant, entity_id)
        handle = self._handles.get(name)
        if handle is None:
            handle = (
                ACTOR_CLASSES[kind]
                .options(name=name, namespace=NAMESPACE, get_if_exists=True)
                .remote(tenant, entity_id, self.config)
            )
            self._handles[name] = handle
        return handle

    def forget(self, kind: Kind, tenant: str, entity_id: str) -> None:
        self._handles.pop(actor_name(kind, tenant, entity_id), None)

    async def call(
        self,
        kind: Kind,
        tenant: str,
        entity_id: str,
        method: str,
        *args: Any,
        retry: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Call ``method`` on the entity's actor, creating it if needed.

        Raises the entity's own :class:`EntityError`, or :class:`Unavailable` when the actor
        cannot be reached (after retries when ``retry``).
        """
        delay = 0.05
        attempts = self.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            handle = self.handle(kind, tenant, entity_id)
            try:
                return await getattr(handle, method).remote(*args, **kwargs)
            except RayTaskError as e:
                if isinstance(e.cause, EntityError):
                    raise e.cause from None
                if isinstance(e.cause, _RETRYABLE) and attempt < attempts:
                    pass
                else:
                    raise
            except _RETRYABLE as e:
                log.info(
                    "%s:%s:%s %s failed (%s), attempt %d",
                    kind,
                    tenant,
                    entity_id,
                    method,
                    type(e).__name__,
                    attempt,
                )
                if attempt == attempts:
                    raise Unavailable(f"{kind} {entity_id} is unavailable: {e}") from e
            self.forget(kind, tenant, entity_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise Unavailable(f"{kind} {entity_id} is unavailable")

    async def live(self) -> dict[str, Any]:
        return await self.registry.stats.remote()  # type: ignore[attr-defined,no-any-return]
