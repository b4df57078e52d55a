"""The face rig: sizes and options, expression in the right places, determinism."""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import pytest

from events.avatar import (
    AvatarState,
    EmotionState,
    FaceState,
    SpeechStarted,
    Traits,
)
from events.speech import LipSyncTrack, TimedPhone
from media.animation import Cue, FaceParams, Timeline, sample, still
from media.face import QUALITIES, SHADINGS, FaceRig, InvalidOption, InvalidSize, RenderOptions
from media.face.layout import BROW_Y, CX, EYE_DX, MOUTH_Y
from media.speech.visemes import OCULUS_ARKIT

pytestmark = pytest.mark.timeout(120)

Image = npt.NDArray[np.uint8]
SIZE = 128
CALM = FaceState(idle=False, blink=False)


def rig(traits: Traits | None = None, **options: object) -> FaceRig:
    return FaceRig(traits or Traits(), RenderOptions(**{"width": SIZE, "height": SIZE, **options}))  # type: ignore[arg-type]


def region(r: FaceRig, img: Image, x0: float, y0: float, x1: float, y1: float) -> Image:
    """Pixels of a design-unit rectangle."""
    px0, py0 = r.to_pixels(x0, y0)
    px1, py1 = r.to_pixels(x1, y1)
    return img[int(py0) : int(np.ceil(py1)), int(px0) : int(np.ceil(px1))]


def mouth(r: FaceRig, img: Image) -> Image:
    return region(r, img, CX - 42, MOUTH_Y - 22, CX + 42, MOUTH_Y + 40)


def brows(r: FaceRig, img: Image) -> Image:
    return region(r, img, CX - EYE_DX - 30, BROW_Y - 20, CX + EYE_DX + 30, BROW_Y + 12)


def diff(a: Image, b: Image) -> float:
    """Mean absolute difference per channel value (0..255)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def face(emotion: str) -> FaceParams:
    return still(AvatarState(emotion=EmotionState(emotion=emotion, intensity=1.0), face=CALM))


@pytest.mark.parametrize(
    ("width", "height"), [(63, 128), (128, 4097), (16384, 16384), (0, 64), (-5, 64)]
)
def test_sizes_outside_64_to_4096_are_refused(width: int, height: int) -> None:
    with pytest.raises(InvalidSize, match=r"64\.\.4096"):
        RenderOptions(width=width, height=height)


def test_non_integer_size_and_unknown_options_are_refused() -> None:
    with pytest.raises(InvalidSize):
        RenderOptions(width=128.5, height=128)  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="shading"):
        RenderOptions(shading="cel")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="quality"):
        RenderOptions(quality="max")  # type: ignore[arg-type]


@pytest.mark.parametrize(("width", "height"), [(64, 64), (96, 160), (4096, 64)])
def test_frames_have_the_requested_size(width: int, height: int) -> None:
    img = FaceRig(Traits(), RenderOptions(width, height, quality="medium")).render(face("happy"))
    assert img.shape == (height, width, 4)
    assert img.dtype == np.uint8
    assert (img[..., 3] == 255).all()  # opaque


@pytest.mark.parametrize("shading", SHADINGS)
@pytest.mark.parametrize("quality", QUALITIES)
def test_every_shading_and_quality_draws_a_face(shading: str, quality: str) -> None:
    r = rig(shading=shading, quality=quality)
    img = r.render(face("neutral"))
    skin = np.array([0xE0, 0xAC, 0x69])
    cheek = region(r, img, CX - 20, 250, CX + 20, 270)[..., :3].reshape(-1, 3)
    assert np.abs(cheek.astype(int) - skin).sum(axis=1).min() < 90  # skin under the eyes
    assert len(np.unique(img.reshape(-1, 4), axis=0)) > 10  # a drawing, not a flat fill


def test_shadings_and_qualities_differ() -> None:
    p = face("happy")
    toon = rig(shading="toon").render_copy(p)
    assert diff(toon, rig(shading="flat").render_copy(p)) > 1.0
    assert diff(toon, rig(shading="pbr").render_copy(p)) > 1.0
    assert diff(rig(quality="fast").render_copy(p), rig(quality="ultra").render_copy(p)) > 0.1


def test_happy_and_sad_differ_at_mouth_and_brows() -> None:
    r = rig()
    happy, sad, neutral = (r.render_copy(face(e)) for e in ("happy", "sad", "neutral"))
    assert diff(mouth(r, happy), mouth(r, sad)) > 3.0
    assert diff(brows(r, happy), brows(r, sad)) > 1.5
    assert diff(mouth(r, neutral), mouth(r, r.render_copy(face("neutral")))) == 0.0


def test_mouth_changes_with_visemes_and_not_elsewhere() -> None:
    r = rig()
    rest = r.render_copy(FaceParams.of(OCULUS_ARKIT["sil"]))
    for viseme in ("aa", "O", "U", "E"):
        img = r.render_copy(FaceParams.of(OCULUS_ARKIT[viseme]))
        assert diff(mouth(r, img), mouth(r, rest)) > 2.0, viseme
        assert diff(brows(r, img), brows(r, rest)) == 0.0, viseme


def test_lips_move_with_speech_and_stay_closed_in_silence() -> None:
    phones = (
        ("sil", 0, 300),
        ("HH", 300, 360),
        ("AA", 360, 600),
        ("L", 600, 660),
        ("OW", 660, 900),
        ("sil", 900, 1400),
        ("UW", 1400, 1700),
        ("sil", 1700, 2000),
    )
    track = LipSyncTrack(
        duration_ms=2000,
        phones=tuple(TimedPhone(phone=p, start_ms=s, end_ms=e) for p, s, e in phones),
    )
    state = AvatarState(face=CALM)
    tl = Timeline.of(
        state,
        [
            Cue(
                0,
                SpeechStarted(
                    utterance_id="u", text="hello", voice_id="v", duration_ms=2000, track=track
                ),
            )
        ],
        2500,
    )
    frames = sample(tl, 50)  # 20 ms a frame
    r = rig()

    def mouth_at(ms: int) -> Image:
        return mouth(r, r.render_copy(frames[ms // 20]))

    silent = [mouth_at(ms) for ms in (0, 200, 1100, 1300, 2200)]
    assert all(diff(silent[0], m) == 0.0 for m in silent[1:])
    for ms in (480, 800, 1560):
        assert diff(mouth_at(ms), silent[0]) > 2.0, ms


def test_head_pose_moves_the_face() -> None:
    r = rig()
    rest = r.render_copy(FaceParams.of({}))
    for pose in ({"head_yaw": 20.0}, {"head_pitch": 15.0}, {"head_roll": 12.0}):
        assert diff(r.render_copy(FaceParams.of({}, **pose)), rest) > 2.0, pose


def test_gaze_moves_the_pupils() -> None:
    r = rig(width=256, height=256)
    eyes = (CX - EYE_DX - 25, 225, CX + EYE_DX + 25, 255)
    ahead = region(r, r.render_copy(FaceParams.of({})), *eyes)
    aside = region(r, r.render_copy(FaceParams.of({}, gaze_x=1.0)), *eyes)
    assert diff(ahead, aside) > 2.0


def test_traits_change_the_appearance() -> None:
    p = face("neutral")
    base = rig().render_copy(p)
    for change in (
        {"hair_color": "#ff0000"},
        {"skin_tone": "#5a3a22"},
        {"background": "#00ff00"},
        {"glasses": "round"},
        {"hair_style": "long"},
        {"outfit": "hoodie"},
        {"accessories": ("beard",)},
    ):
        other = rig(Traits.model_validate(change)).render_copy(p)
        assert diff(base, other) > 0.5, change


def test_same_inputs_give_identical_pixels() -> None:
    p = face("surprised")
    a = hashlib.sha256(rig().render(p).tobytes()).hexdigest()
    b = hashlib.sha256(rig().render(p).tobytes()).hexdigest()
    assert a == b


def test_render_reuses_its_buffer_and_render_copy_does_not() -> None:
    r = rig()
    kept = r.render_copy(face("happy"))
    buf = r.render(face("happy"))
    r.render(face("sad"))
    assert diff(buf, kept) > 0  # overwritten by the next frame
    assert diff(kept, r.render_copy(face("happy"))) == 0
