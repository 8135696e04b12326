"""The quick start's Blender half: the music in the sequencer, the default conductor rig animated by the add-on,
saved as a .blend, and an MP4 preview (Workbench, with the audio) rendered headless.

    .venv/bin/python scripts/make_scene.py AUDIO --addon dist/virtual_conductor-X.zip \
        --blend out/piece.blend --video out/piece.blender.mp4 [--model procedural] [--fps 24]

Runs the add-on exactly as a user would: installs the built extension zip into a throw-away Blender user folder,
lets it start the backend (`vconductor serve`) itself, and runs `vconductor.generate` on the sound strip.
"""

import argparse
import sys
import time
from pathlib import Path

from scene_setup import (
    SceneError,
    blender_output_to,
    conducted_scene,
    enable_addon,
    frame_the_upper_body,
    isolated_blender_user_folder,
    workbench,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audio", type=Path)
    p.add_argument("--addon", type=Path, required=True, help="the zip that build_addon.py wrote")
    p.add_argument("--blend", type=Path, required=True)
    p.add_argument("--video", type=Path, help="MP4 preview to render (skipped when absent)")
    p.add_argument("--model", default="", help="'procedural', a registered model, or empty for the default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fps", type=float, default=24.0, help="scene frame rate (23.976, 24, 25, 29.97, 30, ...)"
    )
    p.add_argument("--resolution", type=int, nargs=2, default=(512, 512))
    p.add_argument(
        "--backend",
        default=str(Path(sys.executable).with_name("vconductor")),
        help="the vconductor executable the add-on starts",
    )
    return p.parse_args(argv)


def video_output(scene, video: Path) -> None:
    """H.264 + AAC in MP4: the sound strip's audio is muxed in."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5.0: pick video before the container
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    ff = scene.render.ffmpeg
    ff.format, ff.codec, ff.constant_rate_factor = "MPEG4", "H264", "MEDIUM"
    ff.audio_codec, ff.audio_bitrate, ff.audio_channels = "AAC", 192, "STEREO"
    scene.render.filepath = str(video)


def main(argv=None) -> int:
    args = parse_args(argv)
    for path, what in ((args.audio, "audio"), (args.addon, "add-on zip")):
        if not path.is_file():
            print(f"make_scene: {what} not found: {path}", file=sys.stderr)
            return 1
    isolated_blender_user_folder()
    import bpy

    t0 = time.perf_counter()
    try:
        enable_addon(args.addon, args.backend)
        scene, strip, rig = conducted_scene(args.audio, args.fps, args.model, args.seed)
    except SceneError as exc:
        print(f"make_scene: {exc}", file=sys.stderr)
        return 1
    t1 = time.perf_counter()
    print(f"make_scene: {rig.animation_data.action.name!r} keyed on {rig.name} in {t1 - t0:.1f} s")

    frame_the_upper_body(rig)
    workbench(scene, args.resolution)
    strip.sound.pack()  # the .blend carries its music
    args.blend.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.blend.resolve()), compress=True)
    print(f"make_scene: wrote {args.blend}")
    if args.video:
        args.video.parent.mkdir(parents=True, exist_ok=True)
        video_output(scene, args.video.resolve())
        with blender_output_to(args.video.with_suffix(".render.log")):  # one line per frame otherwise
            bpy.ops.render.render(animation=True)
        print(f"make_scene: rendered {args.video} in {time.perf_counter() - t1:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
