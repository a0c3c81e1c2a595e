"""Data sources. Importing this package registers every built-in dataset."""
from vdae_core.data import image_manifolds, images, manifolds, meshes, random_net  # noqa: F401  (registration)
from vdae_core.data.base import DataConfig, Dataset, Mesh, check_points
from vdae_core.data.files import make_dataset, read_codes, read_points

__all__ = ["DataConfig", "Dataset", "Mesh", "check_points", "make_dataset", "read_codes", "read_points"]
