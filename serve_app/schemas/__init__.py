"""Request and response bodies of the HTTP API, one definition shared by the routes and the
Python client (``client/``).

Pydantic and our own pure modules only: no FastAPI, no Ray, so ``import client`` stays light.
The render and speech request bodies live beside their work (``serve_app.rendering.models``,
``serve_app.speaking.models``), which is just as light.
"""

#: Where every route of the API lives (the WebSocket streams too).
API_PREFIX = "/api/v1/avatars"
