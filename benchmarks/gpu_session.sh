#!/usr/bin/env bash
# One call on a GPU machine: check the torch backend on CUDA, time it, and run (or resume)
# the mode-collapse study.  Usage, from the repository root on the GPU machine:
#
#   bash benchmarks/gpu_session.sh 1 OUT_DIR SECONDS        # tests, timing, study
#   bash benchmarks/gpu_session.sh 2 OUT_DIR SECONDS [DIRS] # resume the study
#
# SECONDS: the whole call's time budget (runs in flight at the end are stopped and
# lost; finished ones are kept).  The machine this was written for has PyTorch but not
# POT: a POT wheel in .whl/ is installed into /tmp/site first when POT is missing.
# DIRS: directories holding the runs_*.jsonl files of earlier calls (skipped runs).
# Everything lands in OUT_DIR/phase<N>.tgz (and the log beside it).
set -u
phase=$1; out=$2; budget=$3; shift 3
t0=$(date +%s)
work=/tmp/gpu_p$phase
mkdir -p "$out" "$work"
log="$work/session$phase.log"
exec > >(tee -a "$log") 2>&1
source benchmarks/gpu_env.sh
if [ "$phase" = 1 ]; then
    python3 -m pytest -q -p no:cacheprovider tests/test_torch_cuda.py -rs 2>&1 | tail -25
    python3 -m pytest -q -p no:cacheprovider -n 8 tests/test_torch_critics.py \
        tests/test_torch_losses.py tests/test_torch_train.py tests/test_torch_variational.py \
        tests/test_torch_compare.py 2>&1 | tail -8
    echo "tests: $(( $(date +%s) - t0 )) s"
    python3 benchmarks/gpu_timing.py --out "$work/gpu_timing" 2>&1 | tail -40
    echo "timing: $(( $(date +%s) - t0 )) s"
    ( time timeout $(( budget - 60 - ($(date +%s) - t0) )) python3 -m divest.cli gan --quick \
        --device cuda --no-figures --out "$work/gan_quick_cuda" >"$work/gan_quick_cuda.log" \
        2>&1 ) 2>"$work/gan_quick_time.txt" &
    qpid=$!
fi
left=$(( budget - 40 - ($(date +%s) - t0) ))
# stop taking new runs 150 s before the end; the runs in flight get those 150 s
timeout "$left" python3 benchmarks/gan_modes.py run --steps "${STEPS:-5000}" --batch-size 256 --n-eval 2500 \
    --eval-every 1000 --gpu-workers "${GPU_WORKERS:-10}" --cpu-workers "${CPU_WORKERS:-4}" \
    --deadline "$(( left - 150 ))" --tag "p$phase" --out "$work/modes" --resume "$@" 2>&1 | tail -300
[ -n "${qpid:-}" ] && wait "$qpid"
echo "phase $phase: $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv
tar czf "$out/phase$phase.tgz" -C "$work" .
cp "$log" "$out/"
