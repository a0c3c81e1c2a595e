"""Guided experiments (the Lessons page and ``python -m vdae_core lessons``): one file per lesson, registered in
:data:`vdae_core.foundation.registry.LESSONS`; :mod:`.base` runs them and :mod:`.handout` exports them."""
from vdae_core.lessons import (classical_tears, decoder_stretch, diffusion_coordinates,  # noqa: F401
                               gaussian_tears, pictures_shape, prior_holes, walk_on_manifold)
from vdae_core.lessons.base import Lesson, LessonResult, LessonRun, get_lesson, lessons, run_lesson  # noqa: F401
