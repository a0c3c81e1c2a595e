"""Models. Importing this package registers every model in ``MODELS``."""
from . import vae, vdae  # noqa: F401
from .base import GenerativeModel, ModelConfig, Phase, TrainData

__all__ = ["GenerativeModel", "ModelConfig", "Phase", "TrainData"]
from . import svae  # noqa: E402,F401
from . import er_vae  # noqa: E402,F401
from . import delta_vae  # noqa: E402,F401
from . import wgan_gp  # noqa: E402,F401
from . import two_stage_vae  # noqa: E402,F401
