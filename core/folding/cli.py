"""Placeholder for the fold and serve-fold commands, filled in with the folding backends."""


def add_fold_commands(commands) -> None:
    """Add the fold commands to the ``sedd`` parser."""
