"""The sampler: determinism, emotions with easing, lip-sync, blinks, idle, animations."""

from __future__ import annotations

import numpy as np
import pytest

from events.avatar import (
    EMOTIONS,
    AnimationTriggered,
    AvatarState,
    EmotionSet,
    EmotionState,
    FaceState,
    SpeechInterrupted,
    SpeechStarted,
    StatePatch,
    StatePatched,
)
from events.speech import LipSyncTrack, TimedPhone
from media.animation import (
    BLENDSHAPES,
    EMOTION_POSES,
    Cue,
    FaceParams,
    Timeline,
    frame_count,
    sample,
    still,
)
from media.animation.catalog import CATALOG

pytestmark = pytest.mark.timeout(120)

FPS = 100.0  # one frame every 10 ms: easy to read times off frame indices
CALM = AvatarState(face=FaceState(idle=False, blink=False))


def track(*phones: tuple[str, float, float]) -> LipSyncTrack:
    return LipSyncTrack(
        duration_ms=max(end for _, _, end in phones),
        phones=tuple(TimedPhone(phone=p, start_ms=s, end_ms=e) for p, s, e in phones),
    )


def speech(t: LipSyncTrack, utterance: str = "u1") -> SpeechStarted:
    return SpeechStarted(
        utterance_id=utterance, text="x", voice_id="v", duration_ms=t.duration_ms, track=t
    )


def at(ms: float) -> int:
    return round(ms * FPS / 1000.0)


HELLO = track(
    ("sil", 0, 100),
    ("HH", 100, 160),
    ("AA", 160, 400),
    ("L", 400, 460),
    ("OW", 460, 700),
    ("sil", 700, 900),
    ("M", 900, 1000),
    ("AA", 1000, 1250),
    ("sil", 1250, 1500),
)


def busy_timeline() -> Timeline:
    return Timeline.of(
        AvatarState(),
        [
            Cue(200, EmotionSet(emotion="happy", intensity=0.9, transition_ms=400)),
            Cue(300, speech(HELLO)),
            Cue(900, AnimationTriggered(name="nod", duration_ms=800)),
            Cue(1500, StatePatched(patch=StatePatch(gaze_x=0.5))),
        ],
        3000,
    )


def test_same_inputs_give_bit_identical_frames_and_seed_matters() -> None:
    a = sample(busy_timeline(), 30, seed=7)
    b = sample(busy_timeline(), 30, seed=7)
    c = sample(busy_timeline(), 30, seed=8)
    assert a.frames.tobytes() == b.frames.tobytes()
    assert a.frames.tobytes() != c.frames.tobytes()


def test_a_longer_clip_starts_with_the_frames_of_a_shorter_one() -> None:
    short = sample(Timeline.of(AvatarState(), [], 2000), 30, seed=3)
    long = sample(Timeline.of(AvatarState(), [], 9000), 30, seed=3)
    assert np.array_equal(short.frames, long.frames[: len(short)])


@pytest.mark.parametrize(
    ("duration_ms", "fps", "frames"), [(1000, 30, 30), (2500, 24, 60), (10, 30, 1)]
)
def test_frame_count_is_duration_times_fps(duration_ms: float, fps: float, frames: int) -> None:
    tl = Timeline.of(AvatarState(), [], duration_ms)
    assert frame_count(duration_ms, fps) == frames
    assert len(sample(tl, fps)) == frames


def test_bad_fps_and_duration_are_refused() -> None:
    with pytest.raises(ValueError, match="fps"):
        sample(Timeline.of(AvatarState(), [], 1000), 0)
    with pytest.raises(ValueError, match="duration"):
        Timeline.of(AvatarState(), [], 0)


def test_emotion_change_eases_from_old_to_new_pose() -> None:
    tl = Timeline.of(
        CALM, [Cue(100, EmotionSet(emotion="happy", intensity=1.0, transition_ms=400))], 1000
    )
    smile = sample(tl, FPS).channel("mouthSmileLeft")
    target = EMOTION_POSES["happy"]["mouthSmileLeft"]
    assert smile[: at(100) + 1].max() == 0.0
    assert smile[at(500) :] == pytest.approx(target)
    ramp = smile[at(100) : at(500) + 1]
    assert np.all(np.diff(ramp) >= 0)
    assert ramp[len(ramp) // 2] == pytest.approx(target / 2, abs=0.01)  # symmetric in-out
    assert ramp[1] < 0.01 * target  # a gentle start, not linear


def test_intensity_scales_the_pose() -> None:
    weak = still(CALM.model_copy(update={"emotion": EmotionState(emotion="sad", intensity=0.4)}))
    full = still(CALM.model_copy(update={"emotion": EmotionState(emotion="sad", intensity=1.0)}))
    assert weak["browInnerUp"] == pytest.approx(0.4 * full["browInnerUp"])


def test_a_change_during_a_transition_starts_where_the_face_is() -> None:
    tl = Timeline.of(
        CALM,
        [
            Cue(0, EmotionSet(emotion="happy", intensity=1.0, transition_ms=1000)),
            Cue(500, EmotionSet(emotion="neutral", intensity=1.0, transition_ms=1000)),
        ],
        2000,
    )
    smile = sample(tl, FPS).channel("mouthSmileLeft")
    steps = np.abs(np.diff(smile))
    assert steps.max() < 0.03  # no jump at 500 ms
    assert smile[at(500)] == pytest.approx(smile[at(500) - 1], abs=0.03)
    assert smile[-1] == 0.0


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_every_emotion_gives_valid_weights(emotion: str) -> None:
    tl = Timeline.of(AvatarState(), [Cue(0, EmotionSet(emotion=emotion, intensity=1.0))], 500)
    frames = sample(tl, 30).frames
    assert frames[:, : len(BLENDSHAPES)].min() >= 0.0
    assert frames[:, : len(BLENDSHAPES)].max() <= 1.0
    if emotion != "neutral":
        assert (
            np.abs(frames[-1] - sample(Timeline.of(AvatarState(), [], 500), 30).frames[-1]).max()
            > 0.1
        )


def test_speech_opens_the_mouth_and_silence_keeps_it_closed() -> None:
    tl = Timeline.of(CALM, [Cue(300, speech(HELLO))], 2500)
    ft = sample(tl, FPS)
    jaw = ft.channel("jawOpen")
    assert jaw[: at(300 + 100 - 50)].max() == 0.0  # before speech (less the 50 ms blend)
    assert jaw[at(300 + 280)] > 0.4  # AA
    assert jaw[at(300 + 800)] == 0.0  # the silence between words
    assert jaw[at(300 + 1500) :].max() == 0.0  # after the end
    funnel = ft.channel("mouthFunnel")
    assert funnel[at(300 + 580)] > 0.3  # OW rounds the lips


def test_bilabial_closes_the_lips_fully() -> None:
    tl = Timeline.of(CALM, [Cue(0, speech(HELLO))], 1500)
    ft = sample(tl, FPS)
    assert ft.channel("mouthClose")[at(950)] == pytest.approx(0.75)
    assert ft.channel("jawOpen")[at(950)] == pytest.approx(0.0, abs=1e-9)


def test_coarticulation_blends_neighbouring_visemes() -> None:
    t = track(("AA", 0, 200), ("OW", 200, 400), ("D", 400, 460), ("OW", 460, 700))
    ft = sample(Timeline.of(CALM, [Cue(0, speech(t))], 1000), FPS)
    jaw, funnel = ft.channel("jawOpen"), ft.channel("mouthFunnel")
    # across the AA -> OW boundary the weights pass between the two poses, no step
    assert 0.45 < jaw[at(200)] < 0.6
    assert 0.0 < funnel[at(200)] < 0.55
    assert np.abs(np.diff(jaw)).max() < 0.2
    # D between two rounded vowels keeps some of their rounding (DD alone has none)
    assert funnel[at(430)] > 0.1


def test_interrupted_speech_stops_at_the_interruption() -> None:
    long = track(*[("AA" if i % 2 else "K", i * 100.0, i * 100.0 + 100) for i in range(30)])
    tl = Timeline.of(
        CALM,
        [
            Cue(0, speech(long, "u1")),
            Cue(1000, SpeechInterrupted(utterance_id="u1", at_ms=1000)),
        ],
        3000,
    )
    jaw = sample(tl, FPS).channel("jawOpen")
    assert jaw[at(500) : at(900)].max() > 0.3
    assert jaw[at(1000) :].max() == 0.0


def test_an_interruption_of_another_utterance_is_ignored() -> None:
    long = track(*[("AA", i * 100.0, i * 100.0 + 100) for i in range(20)])
    tl = Timeline.of(
        CALM,
        [Cue(0, speech(long, "u1")), Cue(500, SpeechInterrupted(utterance_id="other", at_ms=500))],
        2500,
    )
    assert sample(tl, FPS).channel("jawOpen")[at(1500)] > 0.3


def test_a_new_speech_replaces_the_current_one() -> None:
    long = track(*[("AA", i * 100.0, i * 100.0 + 100) for i in range(20)])
    short = track(("UW", 0, 300))
    tl = Timeline.of(CALM, [Cue(0, speech(long, "u1")), Cue(1000, speech(short, "u2"))], 3000)
    ft = sample(tl, FPS)
    assert ft.channel("mouthPucker")[at(1150)] > 0.5  # the second speech's UW
    assert ft.channel("jawOpen")[at(1400) :].max() == 0.0  # the first does not come back


def test_blinks_happen_from_the_seed_and_can_be_switched_off() -> None:
    on = sample(Timeline.of(AvatarState(), [], 10_000), 30, seed=1).channel("eyeBlinkLeft")
    assert (on > 0.9).sum() >= 2  # closed fully at least twice in 10 s
    assert (on < 0.05).mean() > 0.8  # open most of the time
    off = Timeline.of(AvatarState(face=FaceState(blink=False)), [], 10_000)
    assert sample(off, 30, seed=1).channel("eyeBlinkLeft").max() == 0.0
    later = Timeline.of(
        AvatarState(), [Cue(2000, StatePatched(patch=StatePatch(blink=False)))], 10_000
    )
    assert sample(later, 30, seed=1).channel("eyeBlinkLeft")[at(2300) * 30 // 100 :].max() == 0.0


def test_idle_motion_moves_the_head_unless_switched_off() -> None:
    idle = sample(Timeline.of(AvatarState(), [], 5000), 30, seed=2)
    assert np.ptp(idle.channel("head_yaw")) > 0.5
    assert np.ptp(idle.channel("gaze_x")) > 0.01
    still_tl = Timeline.of(CALM, [], 5000)
    assert np.ptp(sample(still_tl, 30, seed=2).channel("head_yaw")) == 0.0


def test_state_patch_moves_gaze_and_head_smoothly() -> None:
    tl = Timeline.of(
        CALM, [Cue(100, StatePatched(patch=StatePatch(gaze_x=0.8, head_yaw=20)))], 1000
    )
    ft = sample(tl, FPS)
    assert ft.channel("gaze_x")[at(100)] == 0.0
    assert ft.channel("gaze_x")[-1] == pytest.approx(0.8)
    assert ft.channel("head_yaw")[-1] == pytest.approx(20.0)
    assert ft.channel("eyeLookOutLeft")[-1] == pytest.approx(0.8)  # mirrored for ARKit
    assert ft.channel("eyeLookInRight")[-1] == pytest.approx(0.8)


def test_eyes_closed_and_mouth_open_from_state() -> None:
    face = FaceState(idle=False, blink=False, eyes_closed=True, mouth_open=0.4)
    p = sample(Timeline.of(AvatarState(face=face), [], 300), 30)[0]
    assert p["eyeBlinkLeft"] == 1.0
    assert p["jawOpen"] == pytest.approx(0.4)


def test_nod_moves_the_head_then_ends_after_its_duration() -> None:
    tl = Timeline.of(CALM, [Cue(200, AnimationTriggered(name="nod", duration_ms=1000))], 2000)
    pitch = sample(tl, FPS).channel("head_pitch")
    assert pitch[: at(200)].max() == 0.0
    assert pitch[at(200) : at(1200)].min() < -5.0
    assert np.all(pitch[at(1200) :] == 0.0)


def test_looped_animation_repeats_until_replaced() -> None:
    tl = Timeline.of(
        CALM,
        [
            Cue(0, AnimationTriggered(name="shake", duration_ms=500, loop=True)),
            Cue(2000, AnimationTriggered(name="smile", duration_ms=500)),
        ],
        4000,
    )
    ft = sample(tl, FPS)
    yaw = ft.channel("head_yaw")
    assert np.abs(yaw[at(1500) : at(2000)]).max() > 5.0  # fourth cycle still shaking
    assert np.all(yaw[at(2200) :] == 0.0)  # released after the replacement
    assert ft.channel("mouthSmileLeft")[at(2250)] > 0.5


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_animation_changes_the_face_and_returns_to_rest(name: str) -> None:
    tl = Timeline.of(CALM, [Cue(0, AnimationTriggered(name=name, duration_ms=600))], 1000)
    frames = sample(tl, FPS).frames
    assert np.abs(frames[: at(600)]).max() > 0.1
    assert np.all(frames[at(600) :] == 0.0)


def test_intensity_scales_an_animation() -> None:
    def peak(intensity: float) -> float:
        tl = Timeline.of(
            CALM,
            [Cue(0, AnimationTriggered(name="tilt", duration_ms=1000, intensity=intensity))],
            1000,
        )
        return float(sample(tl, FPS).channel("head_roll").max())

    assert peak(0.5) == pytest.approx(peak(1.0) / 2)


def test_face_params_validate_names_and_clamp() -> None:
    p = FaceParams.of({"jawOpen": 1.7}, head_yaw=90.0)
    assert p["jawOpen"] == 1.0
    assert p.head_yaw == 45.0
    assert p.to_json()["blendshapes"]["mouthClose"] == 0.0  # type: ignore[index]
    with pytest.raises(KeyError):
        FaceParams.of({"jawOpened": 1.0})
