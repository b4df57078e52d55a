"""Built-in presets: code constants that the tenant's preset stream overlays.

Kept in code (not appended to the journal on first use) so that a release can improve them;
a tenant that edits or deletes one records that in its stream, which wins over the code.
"""

from __future__ import annotations

from events.avatar import Traits
from events.presets import Preset


def _preset(preset_id: str, name: str, description: str, traits: Traits) -> Preset:
    return Preset(preset_id=preset_id, name=name, description=description, traits=traits)


BUILTIN_PRESETS: dict[str, Preset] = {
    p.preset_id: p
    for p in (
        _preset("classic", "Classic", "The default look: navy blazer, short hair.", Traits()),
        _preset(
            "interviewer",
            "Interviewer",
            "Calm and formal, for job interviews: charcoal blazer, square glasses.",
            Traits(
                skin_tone="#c68642",
                hair_style="short",
                hair_color="#1c1410",
                eye_color="#4b3621",
                outfit="blazer",
                outfit_color="#2b2f36",
                background="#cfd8e3",
                glasses="square",
            ),
        ),
        _preset(
            "friendly-host",
            "Friendly host",
            "Warm and welcoming: curly hair, mustard sweater, earrings.",
            Traits(
                skin_tone="#8d5524",
                hair_style="curly",
                hair_color="#120c08",
                eye_color="#3d2314",
                outfit="sweater",
                outfit_color="#d19a2a",
                background="#f6e3cf",
                accessories=("earrings",),
            ),
        ),
        _preset(
            "support-agent",
            "Support agent",
            "Help desk: auburn bob, teal hoodie, headset.",
            Traits(
                skin_tone="#f1c27d",
                hair_style="bob",
                hair_color="#8a3b1e",
                eye_color="#3f7f5f",
                outfit="hoodie",
                outfit_color="#1f7a7a",
                background="#dff3ec",
                accessories=("headset", "freckles"),
            ),
        ),
        _preset(
            "professor",
            "Professor",
            "Seasoned lecturer: grey hair and beard, round glasses, tweed-brown blazer.",
            Traits(
                skin_tone="#ffdbac",
                hair_style="short",
                hair_color="#9e9e9e",
                eye_color="#5b7c99",
                outfit="blazer",
                outfit_color="#6b4f36",
                background="#efe6d6",
                glasses="round",
                accessories=("beard",),
            ),
        ),
        _preset(
            "night-owl",
            "Night owl",
            "Late-night streamer: platinum ponytail, dusky purple t-shirt, deep blue backdrop.",
            Traits(
                skin_tone="#e8b98f",
                hair_style="ponytail",
                hair_color="#e6dcc3",
                eye_color="#6a4fa3",
                outfit="tshirt",
                outfit_color="#3b3552",
                background="#1f2a44",
            ),
        ),
        _preset(
            "coach",
            "Coach",
            "Upbeat mentor: dark bun, coral shirt, bright backdrop.",
            Traits(
                skin_tone="#5c3a21",
                hair_style="bun",
                hair_color="#0d0a08",
                eye_color="#2e1a0f",
                outfit="shirt",
                outfit_color="#e0664f",
                background="#fff4d6",
                accessories=("earrings",),
            ),
        ),
    )
}
