"""The link to the Virtual Conductor backend, without bpy: client (HTTP calls to `vconductor serve`), process
(starting and stopping it) and session (the backend of one Blender session and its generations on worker
threads). Standard library, numpy and the contract only, so it runs in Blender's Python and is tested without
Blender."""
