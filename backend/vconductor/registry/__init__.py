"""A user-side model registry: checkpoints registered by name in a user cache.

The official VirtualConductor weights may not be redistributed, so vconductor never bundles them: a user
registers a file they downloaded (``vconductor models add official PATH``) or pulls it from the official
repository (``vconductor models pull official``). Files live in ``<home>/models/<name>.pt`` with an index in
``<home>/models/index.json``; both are written with `contract.atomic_output`, so a crash never leaves a
half-written model or index behind, and adding a model is all or nothing: a failure (the index write included)
leaves the previous file, the previous index and no new file.

`cache` says where things live and what they are called, `operations` adds, pulls, checks and resolves models,
`download` fetches a file with pooch, and `cli` is the `vconductor models` subcommand. Only the standard
library and platformdirs are imported with this package: the CLI imports it on every start, and torch and
pooch are needed only when a checkpoint is actually inspected or downloaded.
"""

from .cache import DEFAULT_URL_BASE, KINDS, ModelEntry, RegistryError, home, known_models
from .cli import add_cli
from .operations import (
    MAX_DOWNLOAD_BYTES,
    add_model,
    default_model,
    list_models,
    pull_model,
    remove_model,
    resolve_model,
)

__all__ = [
    "DEFAULT_URL_BASE",
    "KINDS",
    "MAX_DOWNLOAD_BYTES",
    "ModelEntry",
    "RegistryError",
    "add_cli",
    "add_model",
    "default_model",
    "home",
    "known_models",
    "list_models",
    "pull_model",
    "remove_model",
    "resolve_model",
]
