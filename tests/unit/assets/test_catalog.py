"""The built-in models: selecting one changes how the face is drawn."""

from itertools import combinations

import numpy as np

from assets import BUILTIN_MODELS, DEFAULT_MODEL, look_of
from events.avatar import AvatarState, Traits
from media.animation.sampler import still
from media.face.options import RenderOptions
from media.face.rig import FaceRig


def frame_of(model_id: str, configured: str = "toon") -> np.ndarray:
    look = look_of(model_id)
    options = RenderOptions(width=128, height=128, shading=look.shading or configured)  # type: ignore[arg-type]
    return FaceRig(Traits(), options).render(still(AvatarState())).copy()


def test_every_builtin_model_draws_a_face_of_its_own() -> None:
    frames = {m: frame_of(m) for m in BUILTIN_MODELS}
    assert len(frames) >= 3
    for a, b in combinations(frames, 2):
        changed = np.mean(np.any(frames[a] != frames[b], axis=-1))
        assert changed > 0.05, f"{a} and {b} look the same ({changed:.1%} of pixels differ)"


def test_the_default_model_follows_the_configured_shading() -> None:
    assert AvatarState().model_id == DEFAULT_MODEL
    assert not np.array_equal(frame_of(DEFAULT_MODEL, "toon"), frame_of(DEFAULT_MODEL, "flat"))
    assert np.array_equal(frame_of("studio", "toon"), frame_of("studio", "flat"))  # its own look


def test_uploaded_models_draw_as_the_default() -> None:
    uploaded = "as-" + "0" * 32
    assert np.array_equal(frame_of(uploaded), frame_of(DEFAULT_MODEL))
