"""Tests in real Blender (the bpy wheel). A package, so its conftest does not shadow tests/conftest.py."""
