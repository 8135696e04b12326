"""What the panels show while work runs on other threads: redraws, and errors reported from timers."""

import contextlib

import bpy


def redraw_panels() -> None:
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in ("SEQUENCE_EDITOR", "VIEW_3D", "PREFERENCES"):
                area.tag_redraw()


def report_error(message: str) -> None:
    """Show `message` in the panels (and the status bar): a timer has no operator to report through."""
    state = bpy.context.window_manager.vconductor_job
    state.last_error = message
    state.message = ""
    if bpy.app.background:
        print(f"Virtual Conductor: {message}")
    else:  # a tiny operator puts the message in the status bar
        with contextlib.suppress(RuntimeError):
            bpy.ops.vconductor.report("INVOKE_DEFAULT", message=message)
