#!/usr/bin/env bash
# One call on a GPU machine (issues 18 and 19): the CUDA tests, the permutation engine on
# CUDA, seed ensembles on CUDA, then PacGAN's Table 1 protocol for the time that is left.
#
#   bash benchmarks/gpu_check.sh OUT_DIR SECONDS
#
# SECONDS: the whole call's budget.  Each phase has its own time limit, so a failing phase
# cannot eat the next one's time; the PacGAN runs append a line per finished chunk of
# steps, so what is cut off at the deadline is only the chunk in flight.  The rows the
# benchmarks append to benchmarks/results/ during the call are copied to OUT_DIR.  The machine this
# was written for has PyTorch but not POT: a POT wheel in .whl/ is installed first.
set -u
out=$1; budget=$2
t0=$(date +%s)
el() { echo $(( $(date +%s) - t0 )); }
mkdir -p "$out"
exec > >(tee -a "$out/gpu_check.log") 2>&1
source benchmarks/gpu_env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
echo "== 1. CUDA tests ($(el) s)"
timeout 90 python3 -m pytest -q -p no:cacheprovider tests/test_torch_cuda.py -rs 2>&1 | tail -20
echo "== 2. permutation engine on CUDA ($(el) s)"
n0=$(cat benchmarks/results/scaling.jsonl 2>/dev/null | wc -l)
timeout 90 python3 benchmarks/scaling.py engine --sizes 1000 5000 10000 2>&1 | grep '"engine"'
tail -n +$(( n0 + 1 )) benchmarks/results/scaling.jsonl > "$out/scaling.jsonl" 2>/dev/null
echo "== 3. seed ensembles on CUDA ($(el) s)"
n0=$(cat benchmarks/results/gan_ensemble.jsonl 2>/dev/null | wc -l)
timeout 60 python3 benchmarks/gan_ensemble.py --device cuda --losses nonsaturating \
    --sizes 32 256 1024 --steps 500 2>&1 | grep -v '^|'
timeout 45 python3 benchmarks/gan_ensemble.py --device cuda --losses wgan_gp \
    --sizes 32 256 --steps 300 2>&1 | grep -v '^|'
tail -n +$(( n0 + 1 )) benchmarks/results/gan_ensemble.jsonl > "$out/gan_ensemble.jsonl" 2>/dev/null
echo "== 4. PacGAN Table 1 protocol ($(el) s)"
left=$(( budget - $(el) - 20 ))
timeout "$left" python3 benchmarks/gan_pacgan.py run --device cuda --workers 8 \
    --steps 400000 --chunk 5000 --eval-every 1000 --deadline $(( left - 10 )) \
    --out "$out/gan_pacgan.jsonl"
echo "== done ($(el) s)"
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv
