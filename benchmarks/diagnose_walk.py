"""Why a VDAE's samples hug training points or leave the manifold: the walk's codes, the decoder's input, the decoder.

    python benchmarks/diagnose_walk.py --data circle --seeds 0 [--set '{"decoder_input": "nearest"}']
        [--log docs/diagnose_walk_log.jsonl]
    python benchmarks/diagnose_walk.py --table docs/diagnose_walk_log.jsonl

For one trained VDAE (2,000 points) and 1,000 sampler codes z' (``_prior_codes``):

- ``code_off_anchor_spacings``: the median latent distance of z' to the nearest anchor, in anchor spacings
  (median nearest-neighbour distance of the anchors);
- ``anchors_read``: the median number of anchors the plain kernel mean at z' reads, 1 / Σ w²;
- ``to_anchor_points`` / ``to_other_points``: the samples' median distance to the training points that are
  anchors and to those that are not, in data spacings (a sampler that does not snap onto anchors: equal, up
  to the two sets' sizes);
- ``memorisation_samples`` / ``memorisation_recon``: the memorisation ratio of the samples and of the
  reconstructions of 1,000 fresh points (their decoded codes), against the training set and an equally large
  fresh set (≈ 1: no memorising);
- ``recon_off`` / ``samples_off``: the median distance to the true manifold of those reconstructions and
  of the samples, in data spacings;
- ``inside_q99`` / ``inside_max``: where the manifold has a tube (the torus), the 99% quantile and the largest
  distance of a sample to the surface over the tube's radius r.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_common import machine_fields, read_log, row_label, sweep_main  # noqa: E402


def measure(data: str, seed: int, overrides: dict) -> dict:
    import torch
    from sklearn.neighbors import NearestNeighbors

    from vdae_core.api import DataConfig, make_dataset, train_run
    from vdae_core.metrics.coverage import memorisation_ratio

    run = train_run("vdae", DataConfig(dataset=data, n=2000, seed=seed), overrides, seed=seed, device="cpu")
    m, X = run.model, run.dataset.X
    fresh = make_dataset(DataConfig(dataset=data, n=3000, seed=seed + 1000)).X
    other, queries = fresh[:2000], fresh[2000:]
    spacing = lambda P: float(np.median(NearestNeighbors(n_neighbors=2).fit(P).kneighbors(P)[0][:, 1]))  # noqa: E731
    sx = spacing(X)
    with torch.no_grad():
        z = m._prior_codes(1000, torch.Generator().manual_seed(seed))
        w = m._anchor_weights(z)
        A = m.anchors.cpu().numpy()
        dz = NearestNeighbors(n_neighbors=1).fit(A).kneighbors(z.cpu().numpy())[0][:, 0]
        decode = lambda c: m.x_scale.inverse(m.decoder(m.project_latent(c))).cpu().numpy()  # noqa: E731
        samples = decode(z)
        recon = decode(m.psi(torch.as_tensor(queries, dtype=torch.float32)))
        Z = m.psi(torch.as_tensor(X, dtype=torch.float32)).cpu().numpy()
    is_anchor = np.zeros(len(X), bool)
    is_anchor[NearestNeighbors(n_neighbors=1).fit(Z).kneighbors(A)[1][:, 0]] = True
    near = lambda P, Q: float(np.median(NearestNeighbors(n_neighbors=1).fit(P).kneighbors(Q)[0][:, 0]))  # noqa: E731
    row = {"bench": "diagnose_walk", "data": data, "seed": seed, "overrides": overrides, "D": int(m.latent_dim),
           "code_off_anchor_spacings": round(float(np.median(dz)) / spacing(A), 1),
           "anchors_read": round(float(torch.median(1 / (w ** 2).sum(1))), 2),
           "to_anchor_points": round(near(X[is_anchor], samples) / sx, 3),
           "to_other_points": round(near(X[~is_anchor], samples) / sx, 3),
           "memorisation_samples": round(memorisation_ratio(samples, X, other), 3),
           "memorisation_recon": round(memorisation_ratio(recon, X, other), 3)}
    man = run.dataset.manifold
    if man is not None:
        row["recon_off"] = round(float(np.median(man.distance(recon))) / sx, 3)
        row["samples_off"] = round(float(np.median(man.distance(samples))) / sx, 3)
        tube = man.params.get("r")  # the tube radius of a torus of revolution
        if tube:
            inside = man.distance(samples) / float(tube)
            row["inside_q99"], row["inside_max"] = round(float(np.quantile(inside, 0.99)), 3), round(float(inside.max()), 3)
    row.update(machine_fields())
    return row


def table(log_path: str) -> str:
    rows = read_log(log_path)
    out = ["| data | settings | seed | code's distance to ψ(X) (anchor spacings) | anchors the plain mean reads "
           "| samples to anchor / other training points (spacings) | memorisation: samples, reconstructions "
           "| off the manifold: reconstructions, samples (spacings) | deepest 1% / deepest sample inside the tube (r) |",
           "|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda r, k: "—" if r.get(k) is None else f"{r[k]:.2f}"  # noqa: E731
    for r in rows:
        over = row_label(r)
        out.append(f"| {r['data']} | {over} | {r['seed']} | {r['code_off_anchor_spacings']:.0f} | {r['anchors_read']:.1f} | "
                   f"{r['to_anchor_points']:.2f} / {r['to_other_points']:.2f} | {r['memorisation_samples']:.2f}, "
                   f"{r['memorisation_recon']:.2f} | {fmt(r, 'recon_off')}, {fmt(r, 'samples_off')} | "
                   f"{fmt(r, 'inside_q99')} / {fmt(r, 'inside_max')} |")
    return "\n".join(out)


def main():
    sweep_main(measure, table, "circle,torus", "0")


if __name__ == "__main__":
    main()
