"""Helper programs (ffmpeg) as children that cannot outlive this process, even when it is killed with kill -9.

On Linux the child asks the kernel for SIGKILL on its parent's death (prctl PR_SET_PDEATHSIG) and only then
runs the program: a tiny exec wrapper does it (about 30 ms), because Popen's preexec_fn, the other place to call
prctl, is not safe in a process with threads, and the server always has some. If the parent died before the
prctl, the wrapper sees that it was adopted and exits. The kernel sends the signal when the *thread* that
started the child ends, so the thread that starts a child must also wait for it (ours do).

Everywhere, the child gets a session of its own, so a Ctrl-C in the terminal reaches the server, which stops
its work itself, rather than interrupting a decode halfway. Elsewhere than Linux there is no parent-death
signal: a child writing into a pipe to us still ends at its next write once we are gone (broken pipe).
"""

import os
import sys

# prctl(PR_SET_PDEATHSIG = 1, SIGKILL = 9); then: still our child? else the parent is gone already
_WRAPPER = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(70)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def tied_to_this_process(cmd: list[str]) -> dict:
    """Keyword arguments for subprocess.Popen or subprocess.run, `args` included, that run `cmd` as a child
    which dies with this process."""
    if sys.platform.startswith("linux") and sys.executable:
        cmd = [sys.executable, "-I", "-S", "-c", _WRAPPER, str(os.getpid()), *cmd]
    return {"args": cmd, "start_new_session": True}
