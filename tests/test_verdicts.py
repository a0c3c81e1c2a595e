"""Numbers with verdicts: the plain line agrees with the flag rule and says how far and what it means."""
import numpy as np
import pytest

from vdae_core.study.evaluation import flagged
from vdae_core.study.metric_specs import METRIC_SPECS
from vdae_core.study.verdicts import GLOSSARY, MEANING, verdict


def test_closed_cases():
    assert verdict("gw", 0.0011, 0.0010, 0.0002).startswith("inside the noise floor")
    assert verdict("gw", 0.0030, 0.0010, 0.0002) == ("3.0× the floor: the samples' distances are arranged "
                                                     "differently from the data's")
    assert verdict("betti1", 0, 2, 0) == "0 where the data has 2: the samples have a different number of loops"
    assert verdict("coverage", 0.62, 0.97, 0.01) == "64% of the floor: parts of the data get no sample nearby"
    assert verdict("memorisation", 0.80, 0.99, 0.02).endswith("the model copies")
    assert verdict("gw", float("nan"), 0.001, 0.0001) == "not measured"


@pytest.mark.parametrize("key", [s.key for s in METRIC_SPECS if s.family in ("sample", "topology")])
def test_a_verdict_never_disagrees_with_the_flag(key):
    rng = np.random.default_rng(0)
    assert key in MEANING  # every sample and topology metric has its plain meaning
    for _ in range(200):
        mean, sd = abs(rng.normal(1.0, 0.5)) + 0.01, abs(rng.normal(0.05, 0.05))
        value = mean * rng.uniform(0.2, 3.0)
        inside = verdict(key, value, mean, sd).startswith("inside the noise floor")
        assert inside == (not flagged(key, value, mean, sd)), (key, value, mean, sd)


def test_the_glossary_explains_every_term_of_the_tables():
    for term in ("noise floor", "GW", "MMD²", "coverage", "memorisation", "lumpiness", "Betti numbers", "RTD"):
        assert GLOSSARY[term].endswith(".") and len(GLOSSARY[term]) > 40


def test_the_diffusion_caption_says_what_the_coordinates_follow():
    """Closed answers: (cos θ, sin θ) rotated determines θ (score 1); a monotone coordinate determines t; noise
    determines nothing. The swiss-roll caption of issue 33 (φ₁–φ₃ follow t, not the height) is what it says."""
    from vdae_core.study.analysis import coordinates_follow, follow_caption

    rng = np.random.default_rng(0)
    theta, t, h = rng.uniform(0, 2 * np.pi, 500), rng.uniform(0, 1, 500), rng.uniform(0, 1, 500)
    a = 0.6
    C = np.stack([np.cos(theta + a), np.sin(theta + a), t ** 3], 1)
    got = dict(coordinates_follow(C, np.stack([theta, t, h], 1), ["theta", "t", "height"], [True, False, False]))
    assert got["theta"] == pytest.approx(1.0, abs=1e-9) and got["t"] == pytest.approx(1.0, abs=1e-9)
    assert got["height"] < 0.2
    text = follow_caption(list(got.items()), "φ₁–φ₃")
    assert text.startswith("φ₁–φ₃ follow theta (1.00), t (1.00); do not follow height")
    assert "unrolled" not in text
    assert "unrolled" in follow_caption([("theta", 0.99)], "φ₁–φ₂")
