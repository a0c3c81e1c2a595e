"""Trustworthiness and continuity of latent codes (scikit-learn)."""
from __future__ import annotations

from sklearn.manifold import trustworthiness as _sk_trustworthiness

from vdae_core.foundation.errors import UserInputError
from vdae_core.foundation.registry import METRICS
from vdae_core.foundation.validation import as_points, check_k, check_not_constant, check_same_length


def _checked(x, z, k, what):
    x = as_points(x, f"{what}: x", min_points=2)
    z = as_points(z, f"{what}: z", min_points=2)
    check_same_length(x, z, what)
    k = check_k(k, x.shape[0], what)
    if k >= x.shape[0] / 2:  # scikit-learn's requirement
        raise UserInputError(f"{what}: k={k} must be smaller than half the number of points ({x.shape[0]})")
    check_not_constant(x, f"{what}: x")
    check_not_constant(z, f"{what}: z")
    return x, z, k


@METRICS.register("trustworthiness", help="Are latent neighbours also data neighbours? (1 = yes)")
def trustworthiness(x, z, k: int = 10) -> float:
    """Trustworthiness of latent codes: penalises latent neighbours that are far apart in the data.

    ``sklearn.manifold.trustworthiness(x, z, n_neighbors=k)``: 1 minus a normalised sum, over
    each point's k nearest latent neighbours that are not among its k nearest data neighbours,
    of how far down the data ranking they are. Builds the full n x n distance matrices, so keep
    n to a few thousand.

    Parameters
    ----------
    x : array_like, shape (n, m)
        Data points.
    z : array_like, shape (n, D)
        Their latent codes, paired row by row.
    k : int
        Neighbourhood size; needs ``k < n / 2``.

    Returns
    -------
    float
        In [0, 1]; 1 when every latent neighbourhood is a data neighbourhood.

    Raises
    ------
    UserInputError
        For non-2-D, non-finite or unpaired input, ``k >= n / 2``, or all points identical.
    """
    x, z, k = _checked(x, z, k, "trustworthiness")
    return float(_sk_trustworthiness(x, z, n_neighbors=k))


@METRICS.register("continuity", help="Are data neighbours also latent neighbours? (1 = yes)")
def continuity(x, z, k: int = 10) -> float:
    """Continuity of latent codes: penalises data neighbours that are far apart in the latent.

    Trustworthiness with the roles of the spaces swapped,
    ``sklearn.manifold.trustworthiness(z, x, n_neighbors=k)``.

    Parameters
    ----------
    x : array_like, shape (n, m)
        Data points.
    z : array_like, shape (n, D)
        Their latent codes, paired row by row.
    k : int
        Neighbourhood size; needs ``k < n / 2``.

    Returns
    -------
    float
        In [0, 1]; 1 when every data neighbourhood stays a latent neighbourhood.

    Raises
    ------
    UserInputError
        As :func:`trustworthiness`.
    """
    x, z, k = _checked(x, z, k, "continuity")
    return float(_sk_trustworthiness(z, x, n_neighbors=k))
