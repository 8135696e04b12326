"""The add-on's bpy-free layers (motion/, service/, contract.py) are tested without Blender: importing the
`virtual_conductor_addon` package does not import bpy (only its register() does). pytest puts the repository
root on sys.path (`pythonpath` in pyproject.toml)."""
