"""User-facing errors.

Anything a user can cause (a bad file, an unknown name, a parameter out of range) raises
:class:`UserInputError`, a ``ValueError`` subclass. The CLI and the UI catch it and show its message
on one line; nothing else should be shown to a user as a traceback.
"""


class UserInputError(ValueError):
    """A mistake in user input, with a message fit to show as it is."""


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss; the last good weights were restored."""
