"""The backend this Blender session uses (one service.session.BackendSession), read from the preferences.

The Start button never blocks the UI: the backend starts on a worker thread while a `bpy.app.timers` callback,
`poll_start()`, redraws the panels (their status line says "starting...") and then shows any error there.
"""

import os
import shlex

import bpy

from ..service.session import BackendSession, BackendSettings
from .status import redraw_panels, report_error

SESSION = BackendSession()
START_POLL_S = 0.2


def settings_from_preferences(prefs) -> BackendSettings:
    """The preferences, resolved on the main thread (worker threads never read bpy)."""
    online = bool(getattr(bpy.app, "online_access", True))
    command = tuple(backend_command(prefs.backend_command))
    return BackendSettings(prefs.backend_mode, command, prefs.url, prefs.token, prefs.device, online)


def backend_command(command: str) -> list[str]:
    """The program as an argv: a path (spaces allowed, '//' relative to the .blend) or a command line."""
    path = os.path.normpath(bpy.path.abspath(command)) if command.startswith("//") else command
    if os.path.isfile(path) or (os.sep not in path and " " not in path):
        return [path]
    return shlex.split(command) or [command]


def start_in_background(settings: BackendSettings) -> None:
    SESSION.start_in_background(settings)
    redraw_panels()
    if not bpy.app.timers.is_registered(poll_start):
        bpy.app.timers.register(poll_start, first_interval=START_POLL_S)


def poll_start() -> float | None:
    """The timer callback while the backend starts: the next interval, or None once it has started or failed."""
    if SESSION.starting:
        redraw_panels()
        return START_POLL_S
    if SESSION.start_error:
        report_error(SESSION.start_error)
    redraw_panels()
    return None


def status_line() -> str:
    return SESSION.status_line()
