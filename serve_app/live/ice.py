"""ICE for live streams: the configured STUN/TURN servers, where host candidates come from,
and what to do with browsers' mDNS candidates.

Three traps of aiortc/aioice, handled here:

- An ``RTCConfiguration`` without ``iceServers`` makes aiortc use a public STUN server
  (``stun.l.google.com``): the service always passes its own list, empty by default.
- aioice gathers host candidates on every interface except ``127.0.0.1``, so a peer on the
  same machine cannot be reached over loopback. ``AVATAR_LIVE_ICE_ADDRESSES`` names the
  addresses to gather on instead (``["127.0.0.1"]`` on a laptop or in tests).
- Chromium hides its host addresses behind mDNS names (``<uuid>.local``). aioice resolves them
  by multicast DNS, which works only on the browser's own link (not from a cluster node, and
  it sends multicast). By default the service drops such candidates: the browser still sends
  its connectivity checks to our candidates, and ICE learns its address from them
  (a peer-reflexive candidate), the way media servers usually do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from serve_app.settings import IceServer, Settings

_MDNS_CANDIDATE = re.compile(
    r"^a=candidate:\S+ \d+ \S+ \d+ [A-Za-z0-9-]{1,63}\.local \d+ .*$", re.IGNORECASE
)
_original_host_addresses = aioice.ice.get_host_addresses


def configuration(servers: Sequence[IceServer]) -> RTCConfiguration:
    """The peer connection's configuration: exactly these ICE servers (maybe none)."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in servers
        ]
    )


def use_host_addresses(addresses: Sequence[str]) -> None:
    """Gather host candidates on ``addresses`` only (empty: aioice's choice again).

    Process-wide: aioice reads a module-level function when it gathers.
    """
    chosen = list(addresses)
    if not chosen:
        aioice.ice.get_host_addresses = _original_host_addresses
        return

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


def configure_process(settings: Settings) -> None:
    """Apply the settings that act process-wide (host addresses)."""
    use_host_addresses(settings.live_ice_addresses)


def drop_mdns_candidates(sdp: str) -> str:
    """``sdp`` without its ``xxxx.local`` host candidates (see the module docstring).

    When any is dropped, so is ``a=end-of-candidates``: ICE then keeps listening for the
    peer's checks (aioice gives up at once on a finished, empty candidate list)."""
    lines = sdp.splitlines()
    kept = [line for line in lines if not _MDNS_CANDIDATE.match(line)]
    if len(kept) == len(lines):
        return sdp
    kept = [line for line in kept if line.strip() != "a=end-of-candidates"]
    return "\r\n".join(kept) + "\r\n"


def mdns_candidates(sdp: str) -> int:
    return sum(1 for line in sdp.splitlines() if _MDNS_CANDIDATE.match(line))
