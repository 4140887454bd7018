#!/usr/bin/env bash
# The GPU check of the kernel package, on a machine with an NVIDIA GPU, torch and triton:
# the kernel tests (the CUDA parity/unbiasedness tests of tests/kernels/test_cuda.py run the compiled
# Triton kernels) and the benchmark's ratios. Logs go to ${OUT:-gpu-check}/. Exit status: pytest's, else the bench's.
set -uo pipefail
out=${OUT:-gpu-check}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
unset TRITON_INTERPRET
nvidia-smi -L 2>&1 | tee "$out/device.txt"
$py -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())" \
  2>&1 | tee -a "$out/device.txt"
$py -m pytest tests/kernels -q -p no:cacheprovider -rs --timeout=300 -o addopts="" 2>&1 | tee "$out/pytest.txt"
rc=${PIPESTATUS[0]}
# all tables, nm_linear included (2:4 weights on cuSPARSELt/CUTLASS vs dense; it exits 1 if a sparse result is off
# the dense one or a sparse kernel fails); the JSON goes to bench.json
$py -m kernels.bench --sizes 1M,16M,64M --repeat 20 --json "$out/bench.json" 2>&1 | tee "$out/bench.txt"
brc=${PIPESTATUS[0]}
# where the time goes on the device: passes over memory, host syncs and kernels per op and path
$py -m kernels.profile --size 64M --json "$out/profile.json" 2>&1 | tee "$out/profile.txt"
[ "$rc" -ne 0 ] && exit "$rc"
exit "$brc"
