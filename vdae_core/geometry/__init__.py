"""Graph affinities, exact diffusion maps and latent-space neighbourhood statistics."""
from vdae_core.geometry.affinity import knn_affinity, median_knn_scale
from vdae_core.geometry.diffusion_maps import DiffusionMap, diffusion_map

__all__ = ["knn_affinity", "median_knn_scale", "DiffusionMap", "diffusion_map"]
