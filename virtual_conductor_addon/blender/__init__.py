"""The thin Blender layer: reads the scene, talks to the backend through service/, writes keys. No maths here."""

import bpy

from . import (
    beat_source,
    bone_map_ops,
    exports,
    game_exports,
    markers,
    operators,
    panels,
    preferences,
    properties,
    rig_baton,
    rigify_ik,
    takes,
)

CLASSES = (
    *properties.CLASSES,
    preferences.VCONDUCTOR_AP_preferences,
    *operators.CLASSES,
    *bone_map_ops.CLASSES,
    *takes.CLASSES,
    *exports.CLASSES,
    *game_exports.CLASSES,
    *rigify_ik.CLASSES,
    *rig_baton.CLASSES,
    *markers.CLASSES,
    *beat_source.CLASSES,
    *panels.CLASSES,
)


def register() -> None:
    from . import generate

    for cls in CLASSES:
        bpy.utils.register_class(cls)
    properties.register()
    bpy.app.handlers.load_pre.append(generate.forget_job_on_load)


def unregister() -> None:
    from . import backend, generate

    if generate.forget_job_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(generate.forget_job_on_load)
    for timer in (generate.poll_job, backend.poll_start):
        if bpy.app.timers.is_registered(timer):
            bpy.app.timers.unregister(timer)
    backend.SESSION.close()  # drops the job in flight and stops the backend this add-on started
    properties.unregister()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
