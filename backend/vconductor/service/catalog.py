"""Which conductors a job may ask for: "procedural" (when this build has it) and the registered generators.

Checkpoint paths are not accepted over HTTP: a client could otherwise make the server read any file it can.
"""

from functools import cache

from ..pipeline import PROCEDURAL
from ..registry import RegistryError, default_model, list_models
from .errors import ApiError


@cache
def procedural_available() -> bool:
    try:
        from ..conducting import analyze, conduct  # noqa: F401
    except Exception:  # not there yet, or broken: the service offers only learned models
        return False
    return True


def _registry_error(exc: RegistryError) -> ApiError:
    return ApiError(503, "registry_error", f"the model registry cannot be read: {exc}")


def default_model_name() -> str | None:
    """The registered learned model (the official one first), else the procedural conductor."""
    try:
        entry = default_model("generator")
    except RegistryError:
        entry = None
    if entry is not None:
        return entry.name
    return PROCEDURAL if procedural_available() else None


def model_infos(loaded: list[str]) -> list[dict]:
    try:
        learned = [e for e in list_models() if e.kind == "generator"]
    except RegistryError as exc:
        raise _registry_error(exc) from None
    default = default_model_name()
    infos = (
        [{"id": PROCEDURAL, "kind": "procedural", "model_id": PROCEDURAL}] if procedural_available() else []
    )
    infos += [{"id": e.name, "kind": "learned", "model_id": e.id} for e in learned]
    return [{**info, "default": info["id"] == default, "loaded": info["id"] in loaded} for info in infos]


def check_model(name: str | None) -> str:
    """The model a job will use: `name` if the service offers it, else the default; 422 otherwise."""
    if name is None:
        name = default_model_name()
        if name is None:
            message = (
                "no model is available: register a generator with `vconductor models add NAME PATH` "
                "(no restart needed)"
            )
            raise ApiError(422, "no_model", message)
        return name
    offered = [i["id"] for i in model_infos([])]
    if name not in offered:
        available = ", ".join(offered) or "none"
        raise ApiError(
            422, "unknown_model", f"unknown model {name!r}; available: {available} (GET /v1/models)"
        )
    return name
