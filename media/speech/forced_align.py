"""Align a transcript's phones to audio frames: Viterbi over a left-to-right chain of phones.

Each phone class expects a mouth opening (loudness) and a noisiness (fricatives); a 10 ms frame
costs the squared distance between what it shows and what the phone expects. Two priors keep
the path sane where features are ambiguous: each extra frame of a phone costs in inverse
proportion to its usual length (a geometric duration model: a stop cannot swallow a pause), and
a mild pull towards the phone's place in a proportional layout. Pauses before, between and
after words are optional. No acoustic model: on espeak speech, word starts land ~50 ms from
the synthesiser's own (vs ~200 ms for a proportional layout); weights were tuned on that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from events.speech import TimedPhone, TimedWord
from media.speech.audio import FloatArray
from media.speech.phonemes import PhonemizedWord
from media.speech.timing import (
    Fitter,
    layout_words,
    phone_class,
    phone_duration_ms,
    phone_weight,
)
from media.speech.visemes import SILENCE

#: (expected openness 0..1, expected noise 0..1) by phone class.
EXPECTED: dict[str, tuple[float, float]] = {
    "long_vowel": (0.85, 0.0),
    "short_vowel": (0.75, 0.0),
    "affricate": (0.45, 1.0),
    "fricative": (0.45, 1.0),
    "weak_fricative": (0.5, 0.4),
    "stop": (0.3, 0.3),
    "nasal": (0.6, 0.0),
    "liquid": (0.7, 0.0),
    "glide": (0.65, 0.0),
    "silence": (0.0, 0.0),
    "other": (0.5, 0.2),
}
NOISE_WEIGHT = 0.5
PRIOR_WEIGHT = 2.0
STAY_WEIGHT = 0.2  # cost of a phone lasting one more frame, per frame of its usual length
PAUSE_MS = 500.0  # usual length of an optional pause, for the duration prior
MAX_CELLS = 4_000_000  # frames x phones; larger spans fall back to proportional layout


def chain_length(words: Sequence[PhonemizedWord]) -> int:
    """Phones in the chain that :func:`frame_fitter` aligns (words plus optional pauses)."""
    return sum(len(w.phones) + 1 for w in words) + 1


def viterbi(
    costs: FloatArray, optional: Sequence[bool], stay: FloatArray | None = None
) -> list[tuple[int, int]] | None:
    """Best monotonic path through ``costs`` (frames x phones), every phone at least one
    frame except ``optional`` ones, which may be skipped; ``stay[j]`` is paid for each extra
    frame in phone j (a duration prior). Returns each phone's [first, end) frames, or None
    when there are too few frames."""
    frames, count = costs.shape
    need = sum(1 for o in optional if not o)
    if frames < max(need, 1) or count == 0:
        return None
    inf = np.inf
    skippable = np.array([False, *optional[:-1]])  # may jump from j-2 to j over j-1
    skippable[:1] = False
    score = np.full(count, inf)
    score[0] = costs[0, 0]
    if count > 1 and optional[0]:
        score[1] = costs[0, 1]
    stay_cost = np.zeros(count) if stay is None else stay
    moves = np.zeros((frames, count), dtype=np.int8)  # 0 stay, 1 advance, 2 skip one
    for t in range(1, frames):
        advance = np.concatenate(([inf], score[:-1]))
        skip = np.concatenate(([inf, inf], score[:-2]))[:count]
        skip = np.where(skippable, skip, inf)
        stacked = np.vstack((score + stay_cost, advance, skip))
        choice = np.argmin(stacked, axis=0)
        moves[t] = choice
        score = stacked[choice, np.arange(count)] + costs[t]
    last = count - 1
    if optional[-1] and count > 1 and score[count - 2] < score[last]:
        last = count - 2
    if not np.isfinite(score[last]):
        return None
    spans = [(0, 0)] * count
    end = frames
    j = last
    for t in range(frames - 1, 0, -1):
        move = int(moves[t, j])
        if move:
            spans[j] = (t, end)
            end = t
            if move == 2:
                spans[j - 1] = (t, t)  # skipped
            j -= move
    spans[j] = (0, end)
    return spans


def _noise(zcr: FloatArray, high_share: FloatArray) -> FloatArray:
    out: FloatArray = np.clip(np.maximum(zcr / 0.3, high_share / 0.6), 0.0, 1.0)
    return out


def frame_fitter(
    openness: FloatArray, zcr: FloatArray, high_share: FloatArray, hop_ms: float
) -> Fitter:
    """A :data:`media.speech.timing.Fitter` that places words by these frame features."""
    noise = _noise(zcr, high_share)

    def fit(
        words: Sequence[PhonemizedWord], start_ms: float, end_ms: float
    ) -> tuple[list[TimedPhone], list[TimedWord]]:
        lo, hi = round(start_ms / hop_ms), round(end_ms / hop_ms)
        chain: list[str] = [SILENCE]  # optional pauses before, between and after words
        optional: list[bool] = [True]
        owner: list[int] = [-1]
        for i, word in enumerate(words):
            chain += [*word.phones, SILENCE]
            optional += [False] * len(word.phones) + [True]
            owner += [i] * len(word.phones) + [-1]
        frames = hi - lo
        if frames <= 0 or frames * len(chain) > MAX_CELLS:
            return layout_words(words, start_ms, end_ms, pauses=False)
        expected = np.array([EXPECTED[phone_class(p)] for p in chain])
        o, n = openness[lo:hi], noise[lo:hi]
        costs = (o[:, None] - expected[None, :, 0]) ** 2 + NOISE_WEIGHT * (
            n[:, None] - expected[None, :, 1]
        ) ** 2
        weights = np.array(
            [0.0 if opt else phone_weight(p) for p, opt in zip(chain, optional, strict=True)]
        )
        edges = np.concatenate(([0.0], np.cumsum(weights))) / max(weights.sum(), 1e-9)
        pos = (np.arange(frames) + 0.5)[:, None] / frames
        outside = np.maximum(np.maximum(edges[None, :-1] - pos, pos - edges[None, 1:]), 0.0)
        costs += PRIOR_WEIGHT * outside**2
        stay = np.array(
            [
                STAY_WEIGHT * hop_ms / max(phone_duration_ms(p), PAUSE_MS)
                if p == SILENCE
                else STAY_WEIGHT * hop_ms / phone_duration_ms(p)
                for p in chain
            ]
        )
        spans = viterbi(costs, optional, stay)
        if spans is None:
            return layout_words(words, start_ms, end_ms, pauses=False)
        return _timed(words, chain, owner, spans, lo, hop_ms, end_ms)

    return fit


def _timed(
    words: Sequence[PhonemizedWord],
    chain: list[str],
    owner: list[int],
    spans: list[tuple[int, int]],
    first: int,
    hop_ms: float,
    end_ms: float,
) -> tuple[list[TimedPhone], list[TimedWord]]:
    phones: list[TimedPhone] = []
    bounds: dict[int, list[float]] = {}
    for phone, who, (a, b) in zip(chain, owner, spans, strict=True):
        if b <= a:
            continue
        s = round((first + a) * hop_ms, 3)
        e = round(min((first + b) * hop_ms, end_ms), 3)
        if e <= s:
            continue
        phones.append(TimedPhone(phone=phone, start_ms=s, end_ms=e))
        if who >= 0:
            bounds.setdefault(who, [s, e])[1] = e
    timed = [
        TimedWord(word=words[i].word, start_ms=se[0], end_ms=se[1])
        for i, se in sorted(bounds.items())
    ]
    return phones, timed
