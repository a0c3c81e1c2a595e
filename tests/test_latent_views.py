"""Every latent space is drawn as itself: each registered manifold (and the low dimensions of the
families) gets a figure with one finite point per code, never an index plot."""
import numpy as np
import pytest
import torch

from vdae_core.geometry.manifolds import MANIFOLDS
from vdae_core.viz.latent_spaces import latent_view

SPACES = [MANIFOLDS.get(n)() for n in MANIFOLDS.names()] + [
    MANIFOLDS.get("sphere")(dim=d) for d in (1, 3)] + [MANIFOLDS.get("projective")(dim=d) for d in (1, 3)]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.label)
def test_view_draws_every_code_once(space):
    n = 120
    Z = space.prior_sample(n, torch.Generator().manual_seed(0)).numpy()
    fig, caption = latent_view(space, Z, np.linspace(0, 6, n), "θ", True)
    pts = [t for t in fig.data if getattr(t, "mode", None) == "markers" and len(t.x) == n
           and t.marker.color is not None and np.ndim(t.marker.color) == 1]
    assert len(pts) == 1, [t.type for t in fig.data]
    coords = [np.asarray(getattr(pts[0], a), dtype=float) for a in ("x", "y", "z") if getattr(pts[0], a, None) is not None]
    assert all(np.isfinite(c).all() for c in coords)
    assert "index" not in (fig.layout.xaxis.title.text or "")
    assert space.label.split()[0][:2] in caption or "Flat torus" in caption or "Torus" in caption
