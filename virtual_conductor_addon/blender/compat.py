"""Differences between Blender versions (4.2 to 5.0), in one place.

- Sequencer: 4.2 has `sequences` only, 4.5 both, 5.0 `strips` only; 5.0 adds `context.sequencer_scene`.
- Actions: 4.4+ are slotted/layered (F-curves live in a channelbag per slot); 5.0 removed `action.fcurves`.
"""

import bpy

SLOTTED_ACTIONS = bpy.app.version >= (4, 4, 0)


def sequencer_scene(context) -> bpy.types.Scene | None:
    """The scene whose sequencer the user edits (5.0 can show another scene's sequencer)."""
    return getattr(context, "sequencer_scene", None) or context.scene


def all_strips(scene) -> list:
    """Every strip of the scene's sequencer, inside meta strips too."""
    editor = scene.sequence_editor if scene else None
    if editor is None:
        return []
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def strips_collection_name(editor) -> str:
    """The name of the all-strips collection, for `layout.prop_search`."""
    return "strips_all" if hasattr(editor, "strips_all") else "sequences_all"


def new_sound_strip(scene, name: str, filepath: str, channel: int, frame_start: int):
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    return strips.new_sound(name, filepath, channel, frame_start)


def is_sound_strip(strip) -> bool:
    return strip is not None and strip.type == "SOUND"


def new_action_fcurves(action, id_object):
    """Return (fcurves, groups) collections to create F-curves for `id_object` in `action`.

    On slotted actions this creates the slot, a layer with one keyframe strip and its channelbag; the slot
    must then be assigned with `assign_action`.
    """
    if not SLOTTED_ACTIONS:
        return action.fcurves, action.groups, None
    slot = action.slots.new(id_type="OBJECT", name=id_object.name)
    layer = action.layers.new("Layer")
    strip = layer.strips.new(type="KEYFRAME")
    channelbag = strip.channelbag(slot, ensure=True)
    return channelbag.fcurves, channelbag.groups, slot


def new_fcurve(fcurves, data_path: str, index: int, group):
    if SLOTTED_ACTIONS:
        fcurve = fcurves.new(data_path, index=index)
        fcurve.group = group
        return fcurve
    return fcurves.new(data_path, index=index, action_group=group.name)


def assign_action(id_object, action, slot) -> None:
    anim = id_object.animation_data or id_object.animation_data_create()
    anim.action = action
    if slot is not None:
        anim.action_slot = slot


def action_fcurves(action) -> list:
    """All F-curves of an action (every layer, strip and channelbag on slotted actions)."""
    if not SLOTTED_ACTIONS:
        return list(action.fcurves)
    curves = []
    for layer in action.layers:
        for strip in layer.strips:
            for channelbag in getattr(strip, "channelbags", []):
                curves.extend(channelbag.fcurves)
    return curves


def take_slot(action, id_object):
    """The slot of `action` that animates `id_object` (None before slotted actions, or when it has none):
    the one named after the object, else the first object slot (a take has exactly one)."""
    if not SLOTTED_ACTIONS:
        return None
    slots = [s for s in action.slots if s.target_id_type in ("OBJECT", "UNSPECIFIED")]
    named = next((s for s in slots if s.name_display == id_object.name), None)
    return named or (slots[0] if slots else None)


def new_nla_strip(track, name: str, start: int, action, id_object):
    """An NLA strip playing `action` on `id_object` (4.4+: an NLA strip plays one slot of the action)."""
    strip = track.strips.new(name, int(start), action)
    slot = take_slot(action, id_object)
    if slot is not None and strip.action_slot != slot:
        strip.action_slot = slot
    return strip


def take_channels(action, id_object):
    """(fcurves, groups) holding `id_object`'s F-curves in an existing take (to add channels to it)."""
    if not SLOTTED_ACTIONS:
        return action.fcurves, action.groups
    channelbag = action.layers[0].strips[0].channelbag(take_slot(action, id_object), ensure=True)
    return channelbag.fcurves, channelbag.groups
