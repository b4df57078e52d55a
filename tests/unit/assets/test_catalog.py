from assets import BUILTIN_MODELS, DEFAULT_MODEL, look_of
from events.avatar import AvatarState


def test_at_least_three_distinct_looks_and_the_default_is_one() -> None:
    assert len(BUILTIN_MODELS) >= 3
    assert len({m.shading for m in BUILTIN_MODELS.values()}) >= 3
    assert AvatarState().model_id == DEFAULT_MODEL in BUILTIN_MODELS


def test_uploaded_models_draw_with_the_default_look() -> None:
    assert look_of("as-" + "0" * 32) == BUILTIN_MODELS[DEFAULT_MODEL]
    assert look_of("studio").shading == "pbr"
