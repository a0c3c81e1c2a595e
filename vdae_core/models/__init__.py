"""Models. Importing this package registers every model in ``MODELS``."""
from vdae_core.models import vae, vdae  # noqa: F401
from vdae_core.models.base import GenerativeModel, ModelConfig
from vdae_core.training.phases import Phase, TrainData

__all__ = ["GenerativeModel", "ModelConfig", "Phase", "TrainData"]
from vdae_core.models import svae  # noqa: E402,F401
from vdae_core.models import er_vae  # noqa: E402,F401
from vdae_core.models import delta_vae  # noqa: E402,F401
from vdae_core.models import wgan_gp  # noqa: E402,F401
from vdae_core.models import two_stage_vae  # noqa: E402,F401
from vdae_core.models import classical  # noqa: E402,F401
from vdae_core.models import topo_ae  # noqa: E402,F401
from vdae_core.models import imported  # noqa: E402,F401
