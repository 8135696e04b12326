"""Operators: generate / cancel, create the conductor rig, detect the bone map, start / stop the backend."""

import bpy
from bpy.props import EnumProperty, StringProperty

from ..motion.bone_map import detect_bone_map
from ..service.client import ServiceError
from ..service.session import SessionError
from . import armature, backend, bone_map_ops, generate, request, rig_builder
from .preferences import preferences

# In the background (scripts, tests) operators finish their work before returning; in the GUI they hand
# slow work to a worker thread and a timer.
RUN_MODES = [
    ("AUTO", "Auto", "In the background: synchronously; in the GUI: on a worker thread"),
    ("SYNC", "Synchronous", "Wait for the result (blocks Blender)"),
    ("ASYNC", "Asynchronous", "Worker thread; the result is applied by a timer"),
]


def runs_synchronously(mode: str) -> bool:
    return mode == "SYNC" or (mode == "AUTO" and bpy.app.background)


class VCONDUCTOR_OT_generate(bpy.types.Operator):
    """Generate conducting motion for the sound strip as a new action on the armature"""

    bl_idname = "vconductor.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER", "UNDO"}

    mode: EnumProperty(name="Mode", items=RUN_MODES, default="AUTO", options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        reason = request.why_not_generate(context)
        if reason:
            cls.poll_message_set(reason)
        return reason is None

    def execute(self, context):
        try:
            req = request.build_request(context)
            settings = backend.settings_from_preferences(preferences(context))
            if runs_synchronously(self.mode):
                action = generate.run_sync(req, settings)
                self.report({"INFO"}, f"Created action '{action.name}'")
                return {"FINISHED"}
        except Exception as exc:  # one line for the user, never a traceback
            message = (
                str(exc)
                if isinstance(exc, generate.JobError)
                else f"Generation failed: {type(exc).__name__}: {exc}"
            )
            context.window_manager.vconductor_job.last_error = message
            self.report({"ERROR"}, message)
            return {"CANCELLED"}
        context.window_manager.vconductor_job.last_error = ""
        generate.start_async(req, settings)
        return {"FINISHED"}

    def invoke(self, context, _event):
        result = self.execute(context)
        if generate.is_running():  # ESC cancels while the job runs
            bpy.ops.vconductor.watch_escape("INVOKE_DEFAULT")
        return result


class VCONDUCTOR_OT_watch_escape(bpy.types.Operator):
    """Cancel the running generation with Esc"""

    bl_idname = "vconductor.watch_escape"
    bl_label = "Watch for Esc"
    bl_options = {"INTERNAL"}

    def invoke(self, context, _event):
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, _context, event):
        if not generate.is_running():
            return {"FINISHED"}
        if event.type == "ESC" and event.value == "PRESS":
            generate.cancel_current()
            return {"FINISHED"}
        return {"PASS_THROUGH"}


class VCONDUCTOR_OT_cancel(bpy.types.Operator):
    """Cancel the running generation (the scene stays as it is)"""

    bl_idname = "vconductor.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, _context):
        if not generate.is_running():
            cls.poll_message_set("No generation is running")
            return False
        return True

    def execute(self, _context):
        generate.cancel_current()
        return {"FINISHED"}


class VCONDUCTOR_OT_create_rig(bpy.types.Operator):
    """Add the default conductor: an armature with a simple skinned body, at the 3D cursor"""

    bl_idname = "vconductor.create_rig"
    bl_label = "Create Conductor Rig"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if context.mode != "OBJECT":
            cls.poll_message_set("Switch to Object Mode first")
            return False
        return True

    def execute(self, context):
        try:
            definition = rig_builder.load_definition()
        except (OSError, ValueError) as exc:
            self.report({"ERROR"}, f"Cannot read the rig definition: {exc}")
            return {"CANCELLED"}
        for obj in context.selected_objects:
            obj.select_set(False)
        rig = rig_builder.build_rig(context, definition)
        rig.select_set(True)
        context.view_layer.objects.active = rig
        _preset, bone_map = detect_bone_map([b.name for b in rig.data.bones])
        armature.store_bone_map(rig, bone_map)
        if context.scene.vconductor.armature is None:
            context.scene.vconductor.armature = rig
        return {"FINISHED"}


class VCONDUCTOR_OT_detect_bone_map(request.ArmatureOperator, bpy.types.Operator):
    """Guess which bones play which role from their names (Rigify, Mixamo, UE mannequin, the conductor rig)"""

    bl_idname = "vconductor.detect_bone_map"
    bl_label = "Detect Bone Map"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        if bone_map_ops.refuse_linked_map(self, rig):
            return {"CANCELLED"}
        preset, bone_map = detect_bone_map([b.name for b in rig.data.bones])
        armature.store_bone_map(rig, bone_map)
        missing = armature.check_bone_map(rig, bone_map)
        if missing:
            self.report({"WARNING"}, missing)
        else:
            self.report({"INFO"}, f"Bone map: {preset or 'matched by name'}")
        return {"FINISHED"}


class VCONDUCTOR_OT_backend_start(bpy.types.Operator):
    """Start the backend now (otherwise it starts with the first generation)"""

    bl_idname = "vconductor.backend_start"
    bl_label = "Start"

    mode: EnumProperty(name="Mode", items=RUN_MODES, default="AUTO", options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, _context):
        if backend.SESSION.starting:
            cls.poll_message_set("The backend is starting")
            return False
        return True

    def execute(self, context):
        settings = backend.settings_from_preferences(preferences(context))
        state = context.window_manager.vconductor_job
        state.last_error = ""
        if not runs_synchronously(self.mode):  # the panel says "starting...", then shows any error
            backend.start_in_background(settings)
            return {"FINISHED"}
        try:
            health = backend.SESSION.connect(settings)
        except (ServiceError, SessionError) as exc:
            state.last_error = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Backend {health.get('version', '')} ready on {health.get('device', '?')}")
        return {"FINISHED"}


class VCONDUCTOR_OT_backend_stop(bpy.types.Operator):
    """Stop the backend this add-on started (frees its memory)"""

    bl_idname = "vconductor.backend_stop"
    bl_label = "Stop"

    @classmethod
    def poll(cls, _context):
        if generate.is_running():
            cls.poll_message_set("A generation is running")
            return False
        if backend.SESSION.starting:
            cls.poll_message_set("The backend is starting")
            return False
        return True

    def execute(self, _context):
        backend.SESSION.stop()
        return {"FINISHED"}


class VCONDUCTOR_OT_report(bpy.types.Operator):
    """Show a message from a finished background job"""

    bl_idname = "vconductor.report"
    bl_label = "Report"
    bl_options = {"INTERNAL"}

    message: StringProperty(options={"SKIP_SAVE"})

    def execute(self, _context):
        self.report({"ERROR"}, self.message)
        return {"FINISHED"}

    def invoke(self, context, _event):
        return self.execute(context)


CLASSES = (
    VCONDUCTOR_OT_generate,
    VCONDUCTOR_OT_watch_escape,
    VCONDUCTOR_OT_cancel,
    VCONDUCTOR_OT_create_rig,
    VCONDUCTOR_OT_detect_bone_map,
    VCONDUCTOR_OT_backend_start,
    VCONDUCTOR_OT_backend_stop,
    VCONDUCTOR_OT_report,
)
