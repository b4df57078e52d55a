"""Rendering for the service: request models, the plain render worker (no Ray) that the
Renderer deployment wraps, render jobs and where outputs are stored.

Data flows one way: route (validates) -> Renderer replica -> :class:`RenderWorker` (journal
reads, sampler, rig, encoder) -> output store -> asset URL and checksum.
"""
