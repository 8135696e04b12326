"""The thin Blender layer: reads the scene, talks to the backend through service/, writes keys. No maths here."""

import bpy

from . import bone_map_ops, exports, operators, panels, preferences, properties, takes

CLASSES = (
    *properties.CLASSES,
    preferences.VCONDUCTOR_AP_preferences,
    *operators.CLASSES,
    *bone_map_ops.CLASSES,
    *takes.CLASSES,
    *exports.CLASSES,
    *panels.CLASSES,
)


def register() -> None:
    from . import job

    for cls in CLASSES:
        bpy.utils.register_class(cls)
    properties.register()
    bpy.app.handlers.load_pre.append(job.forget_job_on_load)


def unregister() -> None:
    from . import job

    if job.forget_job_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(job.forget_job_on_load)
    job.cancel_current()
    if bpy.app.timers.is_registered(job.poll_job):
        bpy.app.timers.unregister(job.poll_job)
    job.CURRENT = None
    job.BACKEND.stop()
    properties.unregister()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
