"""Machine settings: which backend to use (start one, or connect to a running one), device, default model."""

import bpy
from bpy.props import EnumProperty, StringProperty

# the add-on's root package: virtual_conductor_addon from source, bl_ext.<repo>.virtual_conductor installed
ADDON_PACKAGE = __package__.rpartition(".")[0]


def preferences(context=None) -> "VCONDUCTOR_AP_preferences":
    context = context or bpy.context
    return context.preferences.addons[ADDON_PACKAGE].preferences


class VCONDUCTOR_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    backend_mode: EnumProperty(
        name="Backend",
        items=[
            ("START", "Start Automatically", "Start the backend on this machine when it is first needed"),
            ("CONNECT", "Connect", "Use a backend that is already running (vconductor serve)"),
        ],
        default="START",
    )
    backend_command: StringProperty(
        name="Backend Program",
        subtype="FILE_PATH",
        default="vconductor",
        description="Path to the backend's `vconductor` program (e.g. <venv>/bin/vconductor)",
    )
    url: StringProperty(
        name="URL", default="http://127.0.0.1:8765", description="Address of a running backend"
    )
    token: StringProperty(
        name="Token", subtype="PASSWORD", description="The backend's --token, if it has one"
    )
    device: EnumProperty(
        name="Device",
        items=[("auto", "Auto", "CUDA when available"), ("cpu", "CPU", ""), ("cuda", "CUDA", "")],
        default="auto",
        description="Where a started backend runs the model",
    )
    default_model: StringProperty(
        name="Default Model",
        description="Model when the scene names none: 'procedural', a registered name, or empty for the backend's",
    )

    def draw(self, context):
        from . import backend

        layout = self.layout
        layout.prop(self, "backend_mode", expand=True)
        if self.backend_mode == "START":
            layout.prop(self, "backend_command")
            layout.prop(self, "device")
        else:
            layout.prop(self, "url")
            layout.prop(self, "token")
        layout.prop(self, "default_model")
        row = layout.row()
        row.label(text=backend.status_line())
        row.operator("vconductor.backend_start", icon="PLAY")
        row.operator("vconductor.backend_stop", icon="CANCEL")
        error = context.window_manager.vconductor_job.last_error
        if error:
            layout.label(text=error, icon="ERROR")
