"""Variational Diffusion Autoencoder (paper §4, Algorithms 1 and 2).

Three parts: ψ (a SpectralNet, trained first and then frozen), a covariance network C_φ(ψ(x)) giving a
full positive-definite covariance through its Cholesky factor, and a decoder ψ⁻¹_θ.

Phases: "diffusion fit" (ψ regressed onto the exact diffusion map of ≤ 4,000 points), "spectral"
(SpectralNet's own loss; 0 steps by default after the fit), "latent statistics" (Σ* for every point),
"decoder fit" (ψ⁻¹ regressed onto the pairs (ψ(x), x): a warm start), "variational" (Algorithm 1, until
its loss converges). docs/METHODS.md ("Training in seconds") gives the measurements behind each.

Variational phase, per batch A (Algorithm 1):
    z = ψ(x),  z' = z + L_φ(z) ε,  ε ~ N(0, I)
    x' = the point y ∈ A \\ {x} whose ψ(y) is nearest z'         (Eq. 6: neighbourhood, not self)
    loss = |ψ⁻¹(z') - x'|^2 / (2c) + KL(N(0, C_φ) || N(0, α Σ*(x)))   (Eq. 7)
Σ*(x) is the centred covariance of ψ over the training points in a latent ball around ψ(x) (radius:
the median distance to the ``cov_k``-th neighbour), ridge-regularised. ψ is frozen, so Σ* is computed once for every training point.

Departures of the published reference code that we do not follow (we follow the paper): it used the
uncentred second moment for Σ*, singular values in place of the trace term, and full-batch N x N
distances.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from torch import nn

from vdae_core.foundation.config import param
from vdae_core.foundation.errors import UserInputError
from vdae_core.geometry.diffusion_maps import diffusion_map
from vdae_core.geometry.nearest_target import NearestTarget
from vdae_core.foundation.registry import MODELS
from vdae_core.models.base import GenerativeModel, ModelConfig, randn
from vdae_core.training.phases import Convergence, OptimiserPhase, Phase, TrainData
from vdae_core.models.networks import Standardise, mlp, network
from vdae_core.models.spectralnet import SpectralNet


@dataclasses.dataclass(frozen=True)
class VDAEConfig(ModelConfig):
    """Hyperparameters of the VDAE (defaults tuned on circle, sphere, torus and 9 blobs)."""

    knn: int = param(20, help="Neighbours in the kNN Gaussian graph of the diffusion map.", min=3, max=200)
    hidden: int = param(256, help="Width of every hidden layer (of the decoder too unless decoder_hidden is set). "
                                   "256: torus samples 0.14-0.15 data spacings off the torus against 0.19-0.20 at "
                                   "128, for ~1.1x the time (docs/BENCHMARKS.md, issue 16).", min=8, max=4096)
    decoder_hidden: int = param(0, help="Width of the decoder's hidden layers; 0: hidden.", min=0, max=4096,
                                zero="same as hidden")
    depth: int = param(3, help="Hidden layers of SpectralNet and of the decoder.", min=1, max=8)
    activation: str = param("relu", help="Activation of all networks.", choices=("relu", "tanh", "silu", "softplus"))
    affinity_pca: int = param(0, help="Where SpectralNet's kNN graph is built: 0 on the standardised inputs; r > 0 on "
                                      "their first r principal components (for images: distances between "
                                      "pixel vectors on a few components are less noisy).", min=0, max=4096, zero="off")
    spectral_fit_points: int = param(4000, help="ψ starts as a least-squares fit to the exact diffusion map of this "
                                                "many training points (a random subset when there are more; "
                                                "Diffusion Nets, Mishne et al. 2015); 0: no fit, SpectralNet from "
                                                "a random start (the paper).", min=0, max=20_000, zero="off")
    spectral_fit_steps: int = param(200, help="Gradient steps of the least-squares fit of ψ to the exact diffusion map.",
                                    min=1, max=100_000)
    spectral_fit_lr: float = param(3e-3, help="Learning rate of the least-squares fit of ψ (torus, 200 steps: CC 0.994 "
                                              "at 3e-3 against 0.985 at 1e-3).", min=1e-6, max=1.0)
    spectral_steps: int = param(0, help="Gradient steps of the SpectralNet (ψ) phase on its Dirichlet energy, after the "
                                        "fit if any (the fit alone is as accurate: docs/BENCHMARKS.md, issue 16).",
                                min=0, max=100_000, zero="none")
    spectral_batch: int = param(1024, help="Batch size of the SpectralNet phase (affinities are built per batch).",
                                min=32, max=16384)
    spectral_lr: float = param(1e-3, help="Learning rate of the SpectralNet phase.", min=1e-6, max=1.0)
    step_size: float = param(2.0, help="Walk step length: RMS latent step relative to the RMS radius of the latent "
                                       "cloud. Sets α when alpha is 0.", min=1e-3, max=10.0)
    alpha: float = param(0.0, help="Explicit α (the walk covariance targets α·Σ*(x)); 0 derives α from step_size.",
                         min=0.0, max=1e12, zero="auto")
    cov_k: int = param(0, help="Σ*(x) is the covariance of the latent ball holding cov_k points on average; "
                                "0 means max(2(D+1), 16).",
                       min=0, max=1000, zero="auto")
    ridge: float = param(0.05, help="Ridge added to Σ*(x), as a fraction of its mean eigenvalue.", min=0.0, max=10.0)
    decoder_fit_steps: int = param(100, help="Gradient steps of a least-squares fit of the decoder to the training pairs "
                                             "(ψ(x), x) before the variational phase (a warm start: its targets "
                                             "have no walk noise, so it gets precise fast); 0: none (the paper).",
                                   min=0, max=100_000, zero="none")
    vae_steps: int = param(2500, help="Gradient steps of the variational phase (covariance net + decoder).",
                           min=1, max=200_000)
    batch_size: int = param(256, help="Batch size of the variational phase.", min=8, max=16384)
    lr: float = param(2e-3, help="Learning rate of the variational phase (and of the decoder fit).", min=1e-6, max=1.0)
    neighbour_pool: str = param("all", help="Where x' is searched: 'batch' (the paper's A = batch) or 'all' training "
                                            "points (A = X: deterministic targets, a more precise decoder).",
                                choices=("all", "batch"))
    decoder_target: str = param("neighbour", help="What the decoder is trained towards in the variational phase: "
                                                  "'neighbour' (Eq. 5): x', the training point whose code is "
                                                  "nearest a walk step z' from ψ(x); 'self': x itself from ψ(x) "
                                                  "(no walk step in the target: a smooth inverse), the walk's "
                                                  "covariance then learning from the KL alone (docs/METHODS.md, "
                                                  "issue 29).", choices=("neighbour", "self"), advanced=True)
    decoder_input: str = param("nearest", help="What the decoder ψ⁻¹ reads: 'projected': z' replaced by "
                                                 "a Gaussian-weighted mean of the training latents near it, a soft "
                                                 "projection onto ψ(X) (closest to the manifold, but a z' far from "
                                                 "ψ(X) reads a few anchors and is pulled onto training points: "
                                                 "docs/METHODS.md); 'tangent': "
                                                 "z' projected onto the local principal plane of the training latents "
                                                 "near it (moves z' only across ψ(X), never along it); 'raw': z' as is "
                                                 "(the paper); 'nearest' (default): the kernel mean read at the foot of z' "
                                                 "on the tangent plane of the nearest training latent (as many "
                                                 "anchors read however far z' is); 'nearest_plane': that mean "
                                                 "moved along a*'s tangent plane to ẑ (the mean's pull towards "
                                                 "dense anchors along ψ(X) removed).",
                                choices=("projected", "tangent", "raw", "nearest", "nearest_plane"))
    proj_anchors: int = param(1000, help="Training latents the tangent/projected decoder input reads (a fixed random "
                                         "subset when there are more); its cost per decoded point grows with it.",
                              min=2, max=1_000_000, advanced=True)
    proj_neighbours: int = param(0, help="With k > 0 the projected decoder input averages only the anchors of z''s sheet of "
                                         "ψ(X): those within 3 kernel widths of the anchor nearest z' (at least its 32 "
                                         "nearest), measured along the anchors' k-nearest-neighbour graph. A z' between "
                                         "two sheets (across a "
                                         "torus's tube) is then not decoded into the gap between them "
                                         "(docs/METHODS.md, issue 29); 0: every anchor.",
                                 min=0, max=1000, advanced=True, zero="every anchor")
    proj_width: float = param(4.0, help="Kernel width of the tangent/projected decoder input, in median nearest-neighbour "
                                        "distances of ψ(X).", min=0.01, max=1000.0, advanced=True)
    converge_tol: float = param(0.0, help="The variational phase ends when the mean loss of its last 50 steps fell by "
                                           "less than this fraction below the 50 before (from step 250; then 100 "
                                           "annealing steps), vae_steps at most; 0: always vae_steps steps.",
                                min=0.0, max=1.0, zero="off")
    final_lr_fraction: float = param(0.0, help="Learning rate at the end of the cosine schedule, as a fraction of lr.",
                                     min=0.0, max=1.0, advanced=True)
    recon_var: float = param(0.5, help="Decoder variance c in p(x'|z') = N(ψ⁻¹(z'), cI), in standardised units.",
                             min=1e-6, max=1e3, advanced=True)
    walk_substeps: int = param(8, help="Latent sub-steps per walk step: the step z' = ψ(x) + L ε is taken as m steps "
                                       "of covariance LLᵀ/m, each from the projection of the last onto ψ(X) with "
                                       "L read there; a step then follows ψ(X) instead of leaving it along a tangent "
                                       "line, so a long step goes round a loop (docs/METHODS.md, issue 29); 1: one "
                                       "Gaussian step (the paper).", min=1, max=64, advanced=True)
    walk_scale: float = param(2.0, help="Walk steps' length as a multiple of the trained covariance's: the walk's "
                                         "step is (walk_scale x L) ε. Training's step sets how noisy the decoder's "
                                         "targets are, the walk's how fast it mixes; with walk_substeps and the "
                                         "'nearest' input the two can differ (docs/METHODS.md, issue 29); 1: "
                                         "the trained covariance (the paper).", min=0.1, max=10.0, advanced=True)
    sample_steps: int = param(20, help="Walk steps used by sample(): walkers start at training points.",
                              min=0, max=1000)
    diffusion_time: float = param(0.0, help="Diffusion time t of the map ψ_t = (μ_i^t φ_i): each coordinate scaled by "
                                            "its random-walk eigenvalue to the power t (0: unscaled, the studio's "
                                            "default; the paper's diffusion map has t > 0).", min=0.0, max=1e6,
                                  advanced=True, zero="off")
    kl_weight: float = param(1.0, help="Weight of the KL term (1: the Gaussian KL with its ½; 2: Eq. 6 as printed, "
                                       "which has no ½).", min=0.0, max=100.0, advanced=True)

    #: Live: trains circle, sphere and torus in about 5 s on a 2-core CPU; its cost in quality beside the
    #: defaults is measured by benchmarks/bench_presets.py (LIVE_MEASURED) and shown in the app.
    LIVE = dict(hidden=128, spectral_fit_steps=120, decoder_fit_steps=60, vae_steps=250, converge_tol=0.0, batch_size=128)
    LIVE_MEASURED = "vdae_presets.json"
    QUICK = LIVE
    ESSENTIAL = ("latent_dim", "knn", "step_size", "vae_steps", "hidden", "device")
    PAPER = dict(hidden=512, depth=1, activation="tanh", decoder_input="raw", neighbour_pool="batch", kl_weight=2.0,
                 recon_var=1.0, diffusion_time=1.0, spectral_fit_points=0, spectral_steps=400, decoder_fit_steps=0,
                 walk_substeps=1, walk_scale=1.0, decoder_target="neighbour")
    PAPER_SOURCE = ("VDAE paper §6.1-6.2: one hidden layer of 512 tanh units for all networks; ψ a SpectralNet "
                    "trained on its own loss from a random start, no warm start of the decoder; Eq. 5: x' searched "
                    "in the training batch A; Eq. 6: the KL without its ½ (kl_weight 2); p(x'|z') = N(ψ⁻¹(z'), cI) "
                    "with c = 1 ('usually set to 1', §4: recon_var 1); ψ = [λ_i f_i], the diffusion map at t = 1 (§2); one "
                    "Gaussian walk step of the trained covariance (Algorithm 2); the decoder reads z' as is. "
                    "The paper gives no rule for α: the studio's (step_size) is kept")

    def validate(self) -> None:
        super().validate()
        if self.spectral_fit_points == 0 and self.spectral_steps == 0:
            raise UserInputError("ψ would stay random: set spectral_fit_points > 0 (fit to the exact diffusion map) "
                                 "or spectral_steps > 0 (SpectralNet)")


def tril_from_vector(v: torch.Tensor, D: int, diag_floor: float = 1e-6) -> torch.Tensor:
    """Lower-triangular (B, D, D) with positive diagonal exp(·) from a (B, D(D+1)/2) vector."""
    B = v.shape[0]
    L = torch.zeros(B, D, D, dtype=v.dtype, device=v.device)
    rows, cols = torch.tril_indices(D, D, device=v.device)
    L[:, rows, cols] = v
    diag = torch.diagonal(L, dim1=1, dim2=2)
    L = L - torch.diag_embed(diag) + torch.diag_embed(torch.exp(diag) + diag_floor)
    return L


def _along(U: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """U Uᵀ v: the part of v (B, D) in the span of the orthonormal frames U (B, D, r)."""
    return (U @ (U.transpose(1, 2) @ v.unsqueeze(2))).squeeze(2)


def gaussian_kl(L_q: torch.Tensor, L_p: torch.Tensor, logdet_p: torch.Tensor) -> torch.Tensor:
    """KL(N(0, L_q L_qᵀ) || N(0, L_p L_pᵀ)) per batch row, shape (B,).

    = ½ [ |L_p⁻¹ L_q|_F² − D + log|Σ_p| − log|Σ_q| ]
    """
    D = L_q.shape[-1]
    M = torch.linalg.solve_triangular(L_p, L_q, upper=False)
    logdet_q = 2.0 * torch.log(torch.diagonal(L_q, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * (M.pow(2).sum((-2, -1)) - D + logdet_p - logdet_q)


def local_covariances(Z: np.ndarray, k: int, ridge: float, ball: bool = True) -> np.ndarray:
    """Centred covariance of the latent points around each point, ridge-regularised.

    With ``ball`` (the paper's Σ*(x) = Cov(B_d(ψ(x), δ) ∩ Z)), the neighbourhood is the ball of radius
    δ = the median distance to the k-th neighbour, holding at least min(k, D+1) points and at most 4k.
    A fixed radius keeps the spread of Σ* independent of the local sampling density: with k nearest
    neighbours instead, denser regions get smaller steps and the walk's stationary density grows like
    the square of the sample density on a curve. ``ball=False`` gives the plain kNN covariance.

    Parameters
    ----------
    Z : ndarray (n, D)
    k : int
    ridge : float
        Adds ridge * trace(Σ)/D * I to each Σ, so degenerate (on-manifold, rank-d) covariances stay PD.

    Returns
    -------
    ndarray (n, D, D)
    """
    n, D = Z.shape
    k = min(k, n - 1)
    kmax = min(4 * k, n - 1) if ball else k
    dist, idx = NearestNeighbors(n_neighbors=kmax + 1).fit(Z).kneighbors(Z)  # includes the point itself
    nb = Z[idx]  # (n, kmax+1, D)
    if ball:
        delta = np.median(dist[:, k])
        w = (dist <= delta).astype(np.float64)
        w[:, : min(k, D + 1) + 1] = 1.0  # never fewer than D+1 neighbours (and the point itself)
    else:
        w = np.ones(dist.shape)
    cnt = w.sum(1)
    mean = (w[:, :, None] * nb).sum(1) / cnt[:, None]
    c = (nb - mean[:, None, :]) * np.sqrt(w)[:, :, None]
    S = np.einsum("nki,nkj->nij", c, c) / (cnt - 1)[:, None, None]
    tr = np.trace(S, axis1=1, axis2=2) / D
    floor = 1e-10 * max(float(np.median(tr)), 1e-30)
    S += (ridge * tr + floor)[:, None, None] * np.eye(D)[None]
    return S


def sheet_neighbourhoods(A: np.ndarray, k: int, radius: float, min_size: int = 32, chunk: int = 256) -> np.ndarray:
    """For each anchor, the anchors within ``radius`` of it along the k-nearest-neighbour graph of ``A``
    (A, D), and never fewer than the ``min_size`` nearest along the graph (where the anchors are sparse, a ball
    of the median spacing's radius holds only a few, and a mean over them snaps to them): its sheet of the
    latent cloud. Two sheets closer in latent space than the ball (the two sides of a torus's tube) stay apart
    as long as no graph edge crosses between them. Rows nearest first, the anchor itself first, padded with -1;
    shape (A, K), K the largest ball. Memory: ``chunk`` x A distances at a time.
    """
    from scipy.sparse.csgraph import dijkstra
    from sklearn.neighbors import kneighbors_graph

    G = kneighbors_graph(A, min(k, len(A) - 1), mode="distance")
    G = G.maximum(G.T).tocsr()
    want = min(min_size, len(A))
    balls = []
    for start in range(0, len(A), chunk):
        rows = np.arange(start, min(start + chunk, len(A)))
        dist = dijkstra(G, directed=False, indices=rows, limit=radius)
        short = np.flatnonzero(np.isfinite(dist).sum(1) < want)  # balls below min_size: search without a limit
        if len(short):
            dist[short] = dijkstra(G, directed=False, indices=rows[short])
        for row in dist:
            order = np.argsort(row, kind="stable")
            size = max(int((row <= radius).sum()), min(want, int(np.isfinite(row).sum())))
            balls.append(order[:size])
    out = np.full((len(A), max(len(b) for b in balls)), -1, dtype=np.int64)
    for i, b in enumerate(balls):
        out[i, : len(b)] = b
    return out


def auto_alpha(Z: np.ndarray, S: np.ndarray, step_size: float) -> float:
    """α giving walk steps of RMS length ``step_size`` x the RMS radius of the latent cloud.

    The step covariance is αΣ*(x), so its mean square length is α tr Σ*(x); we match the median of that
    to step_size^2 tr Cov(Z). The paper leaves α free; this makes one default serve data sets whose Σ*
    differ in scale by orders of magnitude (it depends on n, k and the intrinsic dimension).
    """
    global_var = float(np.trace(np.cov(Z.T).reshape(Z.shape[1], Z.shape[1])))
    local_var = float(np.median(np.trace(S, axis1=1, axis2=2)))
    return step_size ** 2 * global_var / max(local_var, 1e-300)


class DiffusionFitPhase(OptimiserPhase):
    """Fit ψ's network to the exact diffusion map of (a subset of) the training points, by least squares.

    The targets are the first D non-trivial right eigenvectors φ_1..φ_D of P = D⁻¹W on the kNN graph that
    SpectralNet builds (same inputs, same k; ``geometry.diffusion_maps``), and the loss is
    mean_i |net(x_i) − φ(x_i)|² over batches of the subset (Mishne et al., "Diffusion Nets", 2015). Any
    invertible linear map of the outputs is undone by ``SpectralNet.finalise``, so only the span matters.
    A sparse eigensolver on ≤ 4,000 points takes a fraction of a second, and the regression converges in a
    few hundred steps where the Dirichlet energy needs thousands from a random start.
    """

    def __init__(self, model: "VDAE"):
        cfg = model.config
        # The batch of the variational phase: a regression needs no graph inside its batch, unlike SpectralNet.
        super().__init__("diffusion fit", cfg.spectral_fit_steps, model.psi.parameters, None, cfg.batch_size,
                         cfg.spectral_fit_lr)

    def start(self, model: "VDAE", data: TrainData) -> None:
        super().start(model, data)
        n_fit = min(model.config.spectral_fit_points, data.n)
        seed = int(torch.randint(2 ** 31 - 1, (1,), generator=data.generator))
        keep = np.arange(data.n) if n_fit >= data.n else \
            np.sort(np.random.default_rng(seed).choice(data.n, n_fit, replace=False))
        self.keep = torch.as_tensor(keep, device=data.device)
        with torch.no_grad():
            A = model.psi.affinity_coords(data.X[self.keep]).cpu().numpy().astype(np.float64)
        dm = diffusion_map(A, model.latent_dim, k=min(model.config.knn, n_fit - 1))
        self.target = torch.as_tensor(dm.coords, dtype=torch.float32, device=data.device)

    def draw_batch(self, data: TrainData) -> torch.Tensor:
        """Positions in the fitted subset (not indices into ``data.X``)."""
        m = len(self.keep)
        return torch.randperm(m, generator=data.generator)[:min(self.batch_size, m)]

    def batch_terms(self, model: "VDAE", data: TrainData, pos: torch.Tensor) -> Dict[str, torch.Tensor]:
        err = model.psi.raw(data.X[self.keep[pos]]) - self.target[pos]
        return {"loss": err.pow(2).sum(1).mean()}


class SpectralPhase(OptimiserPhase):
    """Train ψ on the batch Dirichlet energy; at the end freeze it and order its coordinates."""

    def __init__(self, model: "VDAE"):
        cfg = model.config
        super().__init__("spectral", cfg.spectral_steps, model.psi.parameters, None, cfg.spectral_batch,
                         cfg.spectral_lr)

    def start(self, model: "VDAE", data: TrainData) -> None:
        super().start(model, data)
        self.k = min(model.config.knn, min(self.batch_size, data.n) - 1)

    def batch_terms(self, model: "VDAE", data: TrainData, idx: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"loss": model.psi.batch_loss(data.X[idx], self.k)[0]}

    def end(self, model: "VDAE", data: TrainData) -> None:
        lam = model.psi.finalise(data.X_np, model.config.knn, seed=0)
        t = model.config.diffusion_time
        if t > 0:
            # ψ_t = (μ_1^t φ_1, ..., μ_D^t φ_D), μ_i = 1 − λ_i the random-walk eigenvalues (paper §3, diffusion
            # maps at time t): slow coordinates keep their size, fast ones shrink.
            mu_t = torch.as_tensor(np.clip(1.0 - lam, 0.0, 1.0) ** t, dtype=torch.float32)
            model.psi.out_matrix.mul_(mu_t.to(model.psi.out_matrix.device)[None, :])
        for p in model.psi.parameters():
            p.requires_grad_(False)
        model.psi.eval()


class LatentStatsPhase(Phase):
    """Zero-step phase: freeze ψ(X) and Σ*(x) for every training point; initialise the covariance net."""

    name = "latent statistics"

    def __init__(self):
        super().__init__(0)

    def start(self, model: "VDAE", data: TrainData) -> None:
        model.compute_latent_stats(data)


#: The variational phase's convergence rule (its tolerance from the config): the loss falls by 60-70% per 50 steps
#: at first and by 0-5% (noise ±3%) once converged; with the 100 annealing steps the circle and sphere end at
#: 450-550 steps and the torus at 800-850 (benchmarks/bench_presets.py).
VARIATIONAL_CONVERGENCE = Convergence(window=50, rel_tol=0.05, min_steps=250, tail=100)


#: Steps of the variational phase's learning-rate ramp after the decoder's warm start (without it Adam's first
#: sign-sized updates moved the fitted decoder's output by 0.3 on the unit circle: tests/test_vdae_warm_start.py).
VARIATIONAL_WARMUP = 20


class DecoderFitPhase(OptimiserPhase):
    """Warm start of ψ⁻¹: least squares on the training pairs, mean_i |ψ⁻¹(ψ(x_i)) − x_i|² in standardised units.

    Algorithm 1's reconstruction target x′ is a random neighbour one walk step away, so its gradient
    carries noise on the scale of a step, and the decoder reaches the precision of a data spacing only
    after many annealed steps. The map it converges to is, near ψ(X), the same inverse ψ⁻¹ this fit learns
    from noise-free pairs in a few hundred steps; the variational phase then fits the walk (C_φ) and
    refines ψ⁻¹ on its own loss.
    """

    def __init__(self, model: "VDAE"):
        cfg = model.config
        super().__init__("decoder fit", cfg.decoder_fit_steps, model.decoder.parameters, None, cfg.batch_size,
                         cfg.lr)

    def batch_terms(self, model: "VDAE", data: TrainData, idx: torch.Tensor) -> Dict[str, torch.Tensor]:
        st = model._stats
        x_hat = model.decoder(model.project_latent(st["Z"][idx]))
        return {"loss": (x_hat - model.x_scale(st["X"][idx])).pow(2).sum(1).mean()}


class VariationalPhase(OptimiserPhase):
    """Covariance network and decoder on the loss of Algorithm 1 (ψ frozen)."""

    def __init__(self, model: "VDAE"):
        cfg = model.config
        super().__init__("variational", cfg.vae_steps,
                         lambda: list(model.cov_net.parameters()) + list(model.decoder.parameters()),
                         None, cfg.batch_size, cfg.lr, final_lr_fraction=cfg.final_lr_fraction,
                         convergence=dataclasses.replace(VARIATIONAL_CONVERGENCE, rel_tol=cfg.converge_tol)
                         if cfg.converge_tol > 0 else None,
                         warmup=VARIATIONAL_WARMUP if cfg.decoder_fit_steps > 0 else 0)

    def batch_terms(self, model: "VDAE", data: TrainData, idx: torch.Tensor) -> Dict[str, torch.Tensor]:
        return model.variational_loss(idx, data.generator)


@MODELS.register("vdae", help="Variational Diffusion Autoencoder: SpectralNet ψ, learned walk covariance, decoder.")
class VDAE(GenerativeModel):
    """VDAE with the paper's training (Algorithm 1) and random-walk sampling (Algorithm 2)."""

    name = "vdae"
    title = "VDAE"
    config_class = VDAEConfig
    native_walk = True
    has_prior = True
    training_notes = (
        "The trainer runs the phases the model declares. For the VDAE: **spectral** (SpectralNet learns the "
        "diffusion map ψ on kNN graphs built inside each batch), **latent statistics** (ψ is frozen; the local "
        "covariance Σ*(x) of every point's latent neighbours is computed once), then **variational** (the "
        "covariance network C_φ and the decoder ψ⁻¹ learn one step of the random walk: reconstruct a *neighbour* "
        "x′ from ψ(x) + C_φ^½ε, with a KL term pulling C_φ towards αΣ*(x)).")

    @classmethod
    def check_data(cls, config: VDAEConfig, n: int) -> None:
        if config.knn >= n:
            raise UserInputError(f"knn={config.knn} neighbours needs more points than the {n} in the data")

    def __init__(self, config: VDAEConfig, data_shape, latent_dim: int):
        super().__init__(config, data_shape, latent_dim)
        data_dim = self.data_dim
        if config.cov_k and config.cov_k < latent_dim + 1:
            raise UserInputError(f"cov_k={config.cov_k} is too small: the covariance of a {latent_dim}-D latent "
                                 f"neighbourhood needs at least D+1={latent_dim + 1} points")
        D, h = latent_dim, config.hidden
        hidden = (h,) * config.depth
        self.psi = SpectralNet(data_dim, D, hidden, config.activation,
                               net=network(config, self.data_shape, D, hidden, config.activation))
        self.x_scale = Standardise(data_dim)
        self.cov_net = mlp(D, (h, h), D * (D + 1) // 2, config.activation)
        dec_hidden = (config.decoder_hidden or h,) * config.depth
        self.decoder = network(config, (D,), data_dim, dec_hidden, config.activation,
                               out_shape=self.data_shape)
        self.register_buffer("z_scale", torch.ones(()))
        self.register_buffer("alpha_used", torch.zeros((), dtype=torch.float64))
        self.register_buffer("seed_points", torch.zeros(0, data_dim))
        self.register_buffer("anchors", torch.zeros(0, D))  # ψ(X) of the training points (projected input)
        self.register_buffer("anchor_sqnorm", torch.zeros(0))
        self.register_buffer("proj_tau2", torch.ones(()))
        self.register_buffer("anchor_nbrs", torch.zeros(0, 0, dtype=torch.long))  # proj_neighbours' anchor kNN
        self.register_buffer("proj_rank", torch.zeros((), dtype=torch.long))  # local dimension ('tangent')
        self.register_buffer("anchor_frames", torch.zeros(0, D, 0))  # tangent frame per anchor ('nearest')
        self._stats: Optional[dict] = None

    @classmethod
    def saved_config(cls, config, state):
        # Runs saved before the projected decoder input existed have no anchors: their decoder read z'.
        if "anchors" not in state and "decoder_input" not in config:
            config = dict(config, decoder_input="raw")
        # Runs saved before the issue-29 walk options took one Gaussian step of the trained covariance and
        # fitted the decoder towards x' (their defaults then); their converge_tol is saved with them.
        return {"walk_substeps": 1, "walk_scale": 1.0, "decoder_target": "neighbour", **config}

    # -- training -------------------------------------------------------------------------------
    def prepare(self, X: np.ndarray) -> None:
        Xt = torch.as_tensor(X)
        self.psi.standardise.fit(Xt)
        if 0 < self.config.affinity_pca < self.data_dim:
            self.psi.fit_affinity_pca(X, self.config.affinity_pca)
        self.x_scale.fit(Xt)
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(X), min(len(X), 2000), replace=False))
        self.seed_points = torch.as_tensor(X[keep]).clone()

    def phases(self) -> List[Phase]:
        fit = [DiffusionFitPhase(self)] if self.config.spectral_fit_points > 0 else []
        warm = [DecoderFitPhase(self)] if self.config.decoder_fit_steps > 0 else []
        return fit + [SpectralPhase(self), LatentStatsPhase()] + warm + [VariationalPhase(self)]

    def cov_k(self) -> int:
        """Neighbourhood size of Σ*: the config's, else max(2(D+1), 16)."""
        return self.config.cov_k or max(2 * (self.latent_dim + 1), 16)

    @torch.no_grad()
    def compute_latent_stats(self, data: TrainData) -> None:
        Z = self._psi_batched(data.X).cpu().numpy().astype(np.float64)
        # Normalise latent units so the covariance network's outputs are O(1) whatever the spectrum.
        self.z_scale.fill_(float(np.sqrt((Z ** 2).sum(1).mean())))
        S = local_covariances(Z, min(self.cov_k(), len(Z) - 1), self.config.ridge)
        alpha = self.config.alpha or auto_alpha(Z, S, self.config.step_size)
        self.alpha_used.fill_(alpha)
        T = alpha * S
        L_T = np.linalg.cholesky(T)
        dev = data.device
        Zt = torch.as_tensor(Z, dtype=torch.float32, device=dev)
        self._stats = {
            "Z": Zt,
            "L_T": torch.as_tensor(L_T, dtype=torch.float32, device=dev),
            "logdet_T": torch.as_tensor(2 * np.log(np.diagonal(L_T, axis1=1, axis2=2)).sum(1), dtype=torch.float32,
                                        device=dev),
            "X": data.X,
            "target": NearestTarget(Zt),  # x' search (Eq. 5): exact, O(B log n) per step on the CPU
        }
        keep = np.arange(len(Z))
        if len(Z) > self.config.proj_anchors:
            keep = np.sort(np.random.default_rng(1).choice(len(Z), self.config.proj_anchors, replace=False))
        self.anchors = Zt[torch.as_tensor(keep, device=dev)].clone()
        self.anchor_sqnorm = self.anchors.pow(2).sum(1)
        nn_dist = NearestNeighbors(n_neighbors=2).fit(Z[keep]).kneighbors(Z[keep])[0][:, 1]
        self.proj_tau2.fill_(float((self.config.proj_width * max(np.median(nn_dist), 1e-12)) ** 2))
        if self.config.proj_neighbours > 0:
            self.anchor_nbrs = torch.as_tensor(sheet_neighbourhoods(Z[keep], self.config.proj_neighbours,
                                                                    3.0 * math.sqrt(float(self.proj_tau2))),
                                               dtype=torch.long, device=dev)
        self.proj_rank.fill_(self._local_rank())
        if self.config.decoder_input in ("nearest", "nearest_plane"):
            self.anchor_frames = self._frames(self.anchors)
        # Start C_φ at the average target so the first steps are neither frozen nor explosive.
        last = self.cov_net[-1]
        nn.init.zeros_(last.weight)
        D = self.latent_dim
        rows, cols = torch.tril_indices(D, D)
        bias = torch.zeros(D * (D + 1) // 2)
        mean_var = float(np.trace(T, axis1=1, axis2=2).mean() / D)
        bias[rows == cols] = 0.5 * math.log(max(mean_var, 1e-30)) - math.log(float(self.z_scale))
        with torch.no_grad():
            last.bias.copy_(bias)

    def _psi_batched(self, X: torch.Tensor, bs: int = 8192) -> torch.Tensor:
        return torch.cat([self.psi(X[i:i + bs]) for i in range(0, len(X), bs)])

    def cov_factor(self, z: torch.Tensor) -> torch.Tensor:
        """Cholesky factor L_φ(z) of the walk covariance, (B, D, D), in latent units."""
        v = self.cov_net(z / self.z_scale)
        return tril_from_vector(v, self.latent_dim) * self.z_scale

    def variational_loss(self, idx: torch.Tensor, generator: torch.Generator) -> Dict[str, torch.Tensor]:
        st = self._stats
        z = st["Z"][idx]
        x = st["X"][idx]
        L = self.cov_factor(z)
        if self.config.decoder_target == "self":
            x_hat, x_target = self._decode(z), x  # ψ⁻¹ fitted to the pairs (ψ(x), x); C_φ learns from the KL
        else:
            eps = randn(z.shape, generator, z.device)
            z_new = z + (L @ eps.unsqueeze(-1)).squeeze(-1)
            with torch.no_grad():
                if self.config.neighbour_pool == "all":
                    x_target = st["X"][st["target"](z_new, idx)]  # x' ∈ X \ {x}
                else:
                    d2 = torch.cdist(z_new, z)
                    d2.fill_diagonal_(float("inf"))  # x' ∈ A \ {x}
                    x_target = x[d2.argmin(1)]
            x_hat = self._decode(z_new)
        recon = (self.x_scale(x_hat) - self.x_scale(x_target)).pow(2).sum(1).mean() / (2 * self.config.recon_var)
        kl = gaussian_kl(L, st["L_T"][idx], st["logdet_T"][idx]).mean()
        return {"loss": recon + self.config.kl_weight * kl, "recon": recon, "kl": kl}

    def loss(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Variational loss on a batch of arbitrary points (Σ* taken from their nearest training point)."""
        st = self._stats
        if st is None:
            raise RuntimeError("loss() needs training statistics; call it during training")
        with torch.no_grad():
            idx = torch.cdist(self.psi(x), st["Z"]).argmin(1)
        return self.variational_loss(idx, generator or torch.Generator().manual_seed(0))

    # -- inference ------------------------------------------------------------------------------
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.psi(x)

    def project_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's input for latent points z (B, D): z itself ('raw') or its soft projection onto ψ(X).

        The projection is the kernel mean Σ_j w_j a_j over the anchors a_j (ψ of up to proj_anchors
        training points), w_j ∝ exp(-|z - a_j|² / 2τ²), τ = proj_width x the anchors' median nearest-
        neighbour distance. A walk step z' = ψ(x) + Lε lands anywhere in latent space, but its target x'
        is a data point, so a raw decoder must learn the projection onto ψ(X) as well as ψ⁻¹; a plain MLP
        does that only to about 0.2% of the data scale (2.4 data spacings on a circle of 2,000 points).
        With the projection done here, the decoder only has to be accurate near ψ(X). The weights decay
        like exp(-ρ s² / 2Rτ²) with the distance s along a latent curve of radius R seen from ρ, so the
        mean stays local except within ~τ of a centre of curvature. Differentiable in z.
        """
        if self.config.decoder_input == "raw" or len(self.anchors) == 0:
            return z
        if self.config.decoder_input == "tangent":
            return self._tangent_projection(z)
        if self.config.decoder_input in ("nearest", "nearest_plane"):
            return self._nearest_projection(z)
        return self._kernel_mean(z)

    def _kernel_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The kernel mean of the anchors at z (B, D): over z's sheet with ``proj_neighbours``, else over all."""
        if self.anchor_nbrs.numel():
            return self._sheet_projection(z)
        return self._anchor_weights(z) @ self.anchors

    def _sheet_projection(self, z: torch.Tensor) -> torch.Tensor:
        """Kernel mean over the anchors of the sheet of the anchor a* nearest z (B, D) (``anchor_nbrs``: a*'s
        graph ball, padded with -1). The choice of a* is piecewise constant in z; the weights are not."""
        d2 = torch.addmm(self.anchor_sqnorm, z, self.anchors.T, alpha=-2.0)         # (B, A), less |z|²
        nb = self.anchor_nbrs[d2.argmin(1)]                                          # (B, K)
        logits = torch.gather(d2, 1, nb.clamp_min(0)) / (-2.0 * self.proj_tau2)
        w = torch.softmax(logits.masked_fill(nb < 0, float("-inf")), dim=1)
        return (w.unsqueeze(-1) * self.anchors[nb.clamp_min(0)]).sum(1)

    def _anchor_weights(self, z: torch.Tensor, width: float = 1.0) -> torch.Tensor:
        """Gaussian kernel weights (B, A) of the anchors around z (B, D), rows summing to 1; ``width`` scales
        the kernel's width τ."""
        # |z - a_j|² less the per-row |z|², which the softmax does not depend on. A dense softmax over
        # all anchors costs ~1 ns per pair on a CPU, less than a per-row top-k (~4 µs per row).
        d2 = torch.addmm(self.anchor_sqnorm, z, self.anchors.T, alpha=-2.0)
        return torch.softmax(d2 / (-2.0 * width ** 2 * self.proj_tau2), dim=1)

    def _local_frame(self, z: torch.Tensor, width: float = 1.0):
        """Kernel weights' mean μ (B, D) and covariance C (B, D, D) of the anchors around z (B, D)."""
        w = self._anchor_weights(z, width)                                               # (B, A)
        mu = w @ self.anchors
        C = torch.einsum("ba,ad,ae->bde", w, self.anchors, self.anchors) - mu.unsqueeze(2) * mu.unsqueeze(1)
        return mu, C

    def _local_rank(self, width: float = 1.0) -> int:
        """Local dimension of ψ(X): the median, over 200 anchors, of the number of principal directions of
        the kernel-weighted anchors that explain 90% of their variance."""
        with torch.no_grad():
            idx = torch.as_tensor(np.random.default_rng(2).choice(len(self.anchors), min(200, len(self.anchors)),
                                                                  replace=False), device=self.anchors.device)
            _, C = self._local_frame(self.anchors[idx], width)
            ev = torch.linalg.eigvalsh(C.double()).flip(-1).clamp_min(0)            # descending
            frac = ev.cumsum(-1) / ev.sum(-1, keepdim=True).clamp_min(1e-300)
            ranks = (frac < 0.9).sum(-1) + 1
        return int(torch.median(ranks.cpu()))

    def _frames(self, z: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        """Top r principal directions (B, D, r) of the kernel-weighted anchors around z (B, D).

        r is the local rank read with a kernel of half the projection's width: at the full width ψ(X) curves
        inside the kernel and its extra directions pass 90% of the variance (the torus reads 4 there, 2 at
        half the width), and a frame with normal directions would carry z's distance from ψ(X) into the
        foot (samples decoded inside the torus's tube). The directions themselves are read at the full
        width, where more anchors steady them."""
        r = self._local_rank(0.5)
        out = []
        with torch.no_grad():
            for i in range(0, len(z), chunk):
                _, C = self._local_frame(z[i:i + chunk])
                out.append(torch.linalg.eigh(C.double())[1][..., -r:].to(z.dtype))
        return torch.cat(out)

    def _nearest_projection(self, z: torch.Tensor) -> torch.Tensor:
        """Kernel mean at ẑ = a* + U Uᵀ (z − a*), the foot of z on the tangent plane (frame U) of its nearest
        anchor a*. ẑ stays near ψ(X) however far z is, so the mean reads about as many anchors everywhere;
        the plain kernel mean at a z far from ψ(X) narrows to a few anchors and pulls samples onto training
        points (docs/METHODS.md, issue 29: circle codes hundreds of anchor spacings away read 3.6)."""
        d2 = torch.addmm(self.anchor_sqnorm, z, self.anchors.T, alpha=-2.0)
        near = d2.argmin(1)
        a, U = self.anchors[near], self.anchor_frames[near]                          # (B, D), (B, D, r)
        z_hat = a + _along(U, z - a)
        mu = self._kernel_mean(z_hat)
        if self.config.decoder_input == "nearest":
            return mu
        # 'nearest_plane': ẑ's place along the plane kept, its height above ψ(X) taken from the mean.
        return mu + _along(U, z_hat - mu)

    def _tangent_projection(self, z: torch.Tensor) -> torch.Tensor:
        """z ↦ μ + U Uᵀ (z − μ): onto the affine plane through the local kernel mean μ spanned by the top
        ``proj_rank`` principal directions U of the anchors near z. The frame U is held fixed under
        differentiation (eigenvector gradients blow up where discarded eigenvalues are close); μ is not."""
        mu, C = self._local_frame(z)
        with torch.no_grad():
            U = torch.linalg.eigh(C.double())[1][..., -int(self.proj_rank):].to(z.dtype)  # (B, D, r)
        return mu + _along(U, z - mu)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.x_scale.inverse(self.decoder(self.project_latent(z)))

    def _walk_code(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """z' = ψ(x) + L(ψ(x)) ε, ε ~ N(0, I): the latent point of one walk step (Algorithm 2), (B, D); with
        ``walk_substeps`` m > 1, m such steps of covariance L Lᵀ / m, projected onto ψ(X) between them; every
        step's ε is multiplied by ``walk_scale``."""
        z = self.psi(x)
        m = self.config.walk_substeps
        for i in range(m):
            if i:  # the next sub-step starts on ψ(X), where L was trained
                z = self.project_latent(z)
            L = self.cov_factor(z)
            eps = randn(z.shape, generator, z.device)
            z = z + (L @ eps.unsqueeze(-1)).squeeze(-1) * (self.config.walk_scale / math.sqrt(m))
        return z

    def _walk_step(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self._decode(self._walk_code(x, generator))

    @property
    def sampler_description(self) -> str:
        return f"{self.config.sample_steps} walk steps from random training points (Algorithm 2)"

    def _sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if self.config.sample_steps == 0:  # the seed points themselves
            idx = torch.randint(len(self.seed_points), (n,), generator=generator)
            return self.seed_points[idx.to(self.seed_points.device)]
        return self._decode(self._prior_codes(n, generator))

    def _prior_codes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """The codes of the walk's last step: VDAE has no fixed prior, its samples are the walk's (approximately
        stationary) law after ``sample_steps`` steps from random training points. With 0 steps: ψ of the
        seed points."""
        idx = torch.randint(len(self.seed_points), (n,), generator=generator)
        x = self.seed_points[idx.to(self.seed_points.device)]
        if self.config.sample_steps == 0:
            return self.psi(x)
        for _ in range(self.config.sample_steps - 1):
            x = self._walk_step(x, generator)
        return self._walk_code(x, generator)
