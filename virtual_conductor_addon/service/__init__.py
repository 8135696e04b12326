"""The link to the Virtual Conductor backend, without bpy: client (HTTP calls to `vconductor serve`) and
process (starting and stopping it). Standard library and numpy only, so it runs in Blender's Python and is
tested without Blender."""
