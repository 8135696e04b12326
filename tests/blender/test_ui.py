"""Panels and preferences draw (panels are never drawn headless: a stand-in layout records what they show)."""

import pytest

from .blender_scene import EXAMPLE, add_sound_strip, create_rig


class RecordingLayout:
    """Records labels, operators and properties; checks every property exists on its data."""

    def __init__(self, log=None):
        self.log = [] if log is None else log

    def _sub(self, *_args, **_kwargs):
        return RecordingLayout(self.log)

    row = column = box = split = _sub

    def prop(self, data, name, **_kwargs):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name}"
        self.log.append(("prop", name))

    def prop_search(self, data, name, search_data, search_name, **_kwargs):
        assert name in data.bl_rna.properties and search_name in search_data.bl_rna.properties
        self.log.append(("prop_search", name, search_name))

    def operator(self, idname, **_kwargs):
        self.log.append(("operator", idname))

    def label(self, text="", **_kwargs):
        self.log.append(("label", text))

    def progress(self, factor=0.0, type="BAR", text=""):
        self.log.append(("progress", round(factor, 2), text))


def test_generation_panel_shows_settings_progress_and_reasons(bpy, monkeypatch):
    from virtual_conductor_addon.blender import panels
    from virtual_conductor_addon.blender.backend import SESSION

    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    assert ("operator", "vconductor.generate") in layout.log
    assert any(entry[0] == "label" and entry[1].startswith("No sound strip") for entry in layout.log)

    add_sound_strip(bpy.context.scene, EXAMPLE, frame_start=11, trim_start=4)
    create_rig(bpy)
    state = bpy.context.window_manager.vconductor_job
    state.running, state.progress, state.message = True, 0.4, "Generating"
    monkeypatch.setattr(SESSION, "job", object())  # a job in flight
    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    assert ("prop_search", "sound_strip", "strips_all") in layout.log
    assert ("progress", 0.4, "Generating") in layout.log and ("operator", "vconductor.cancel") in layout.log
    monkeypatch.setattr(SESSION, "job", None)
    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    assert ("label", "Frames 15 to 789 (the strip)") in layout.log


def test_bone_map_panel_lists_editable_rows(bpy):
    from virtual_conductor_addon.blender import panels

    create_rig(bpy)
    layout = RecordingLayout()
    panels.draw_bone_map(layout, bpy.context)
    rows = [entry for entry in layout.log if entry[0] == "prop_search"]
    assert len(rows) == 13 and all(entry[2] == "bones" for entry in rows)


def test_preferences_draw_both_modes(bpy):
    prefs = bpy.context.preferences.addons["virtual_conductor_addon"].preferences
    for mode, shown in (("START", "backend_command"), ("CONNECT", "url")):
        prefs.backend_mode = mode
        layout = RecordingLayout()
        type(prefs).draw(_WithLayout(prefs, layout), bpy.context)
        assert ("prop", shown) in layout.log and ("operator", "vconductor.backend_start") in layout.log
    prefs.backend_mode = "START"


class _WithLayout:
    """The preferences object with a stand-in layout (bpy structs do not allow replacing `layout`)."""

    def __init__(self, prefs, layout):
        self._prefs, self.layout = prefs, layout

    def __getattr__(self, name):
        return getattr(self._prefs, name)


def test_panel_settings_reach_the_motion_settings(bpy):
    """What the panel shows is what the lifting gets: size, smoothing and sway."""
    from virtual_conductor_addon.blender import panels, request

    scene = bpy.context.scene
    add_sound_strip(scene, EXAMPLE, frame_start=1)
    create_rig(bpy)
    settings = scene.vconductor
    settings.motion_size, settings.smoothing, settings.sway = 1.5, 0.1, 0.4
    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    assert {("prop", n) for n in ("motion_size", "smoothing", "sway")} <= set(layout.log)
    lift = request.build_request(bpy.context).lift
    assert (lift.size, lift.smoothing, lift.sway) == pytest.approx((1.5, 0.1, 0.4))  # float32


def test_the_style_preset_sets_the_controls_and_the_request_carries_them(bpy):
    """Choosing a preset fills the style controls (still editable); the request sends what they show."""
    from virtual_conductor_addon.blender import panels, request
    from virtual_conductor_addon.contract_style import PRESETS

    scene = bpy.context.scene
    add_sound_strip(scene, EXAMPLE, frame_start=1)
    create_rig(bpy)
    settings = scene.vconductor
    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    names = ("style_preset", "style_size", "style_energy", "style_articulation", "style_left_hand")
    assert {("prop", n) for n in (*names, "style_left_handed", "style_baton")} <= set(layout.log)
    settings.style_preset = "film-score-legato"
    chosen = PRESETS["film-score-legato"]
    assert settings.style_articulation == pytest.approx(chosen.articulation)
    assert settings.style_left_hand == pytest.approx(chosen.left_hand)
    settings.style_size, settings.style_left_handed = 0.7, True  # edited after choosing
    style = request.build_request(bpy.context).style
    assert (
        style.size == pytest.approx(0.7)
        and style.left_handed
        and style.energy == pytest.approx(chosen.energy)
    )


def test_bone_map_panel_shows_finger_rows_and_the_baton_settings(bpy):
    from virtual_conductor_addon.blender import armature, panels
    from virtual_conductor_addon.motion.bone_map import preset_for_rig

    from .any_rig_scene import MIXAMO, RigCase, build_rig

    rig = build_rig(bpy, RigCase(MIXAMO, "mixamorig:"))  # index fingers, two segments each
    bpy.context.scene.vconductor.armature = rig
    armature.store_bone_map(rig, preset_for_rig("mixamo", rig.data.bones.keys()))
    layout = RecordingLayout()
    panels.draw_bone_map(layout, bpy.context)
    rows = [entry for entry in layout.log if entry[0] == "prop_search"]
    assert len(rows) == 13 + 30  # body rows, then a row of three per finger
    assert ("label", "Fingers (knuckle to tip)") in layout.log and ("label", "index.L") in layout.log
    assert ("prop", "baton_length") in layout.log and ("prop", "baton_grip_offset") in layout.log
    assert ("operator", "vconductor.add_baton") in layout.log
