"""Live WebRTC streams of sessions (aiortc): the Live deployment, its streams and tracks."""
