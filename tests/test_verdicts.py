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


def test_hole_verdict_reads_the_decoded_share_first():
    from vdae_core.study.verdicts import hole_verdict

    harmless = hole_verdict(0.30, 0.0, 0.0, 0.0, 0.0, 0.0)  # the VDAE on a circle: holes that decode on the data
    assert harmless.startswith("no holes that matter") and "30%" in harmless
    bad = hole_verdict(0.35, 0.0, 0.94, 0.0, 0.0, 1.0)  # the 2-D β-VAE on a circle
    assert "94% of its samples land off the data" in bad and "100%" in bad and bad.endswith("matter")
    assert hole_verdict(0.0, 0.0, 0.02, 0.015, 0.01, None).startswith("no holes")  # inside 3 sd of the floor


def test_surface_verdict_names_distance_and_reach():
    from vdae_core.study.verdicts import surface_verdict

    assert "on the surface" in surface_verdict(0.3)
    assert "near the surface" in surface_verdict(0.64)
    assert "off the surface (4.7 edges" in surface_verdict(4.7)
    assert "77% of the height" in surface_verdict(0.6, 1.81, 2.35) and "ears" in surface_verdict(0.6, 1.81, 2.35)
    assert "as far as the true walk" in surface_verdict(0.6, 2.3, 2.35)


def test_distortion_and_angle_verdicts_follow_their_thresholds():
    from vdae_core.study.verdicts import angle_verdict, distortion_verdict

    assert "close to keeping distances" in distortion_verdict(1.09)
    assert "moderate" in distortion_verdict(2.4) and "strong" in distortion_verdict(7.0)
    assert "uniform change of scale" in distortion_verdict(2.0, scale_free=False)
    assert distortion_verdict(float("nan")) == angle_verdict(float("nan"), 0.1) == "not measured"
    assert angle_verdict(0.10, 0.12).startswith("inside the floor")
    assert "in order" in angle_verdict(0.99, 0.1) and "in part" in angle_verdict(0.7, 0.1)


def test_walk_reach_is_the_highest_point_above_the_start():
    import numpy as np

    from vdae_core.study.diagnostics import WalkComparison

    learned = np.zeros((3, 2, 3))
    learned[2, 1, 1] = 0.8
    learned[1, 0, 1] = np.nan  # a walker that failed does not count
    truth = np.zeros((3, 2, 3))
    truth[1, 0, 1] = 2.0
    wc = WalkComparison(0, np.array([0.0, 0.5, 0.0]), learned, truth, 1, {}, 0.0, np.zeros(3), 1)
    assert wc.reach(1) == (0.8 - 0.5, 2.0 - 0.5)
