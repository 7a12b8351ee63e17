# Sourced by the GPU-machine scripts (gpu_session.sh, gpu_check.sh) from the repository
# root: divest on PYTHONPATH, POT from the wheel in .whl/ where the machine lacks it, the
# versions printed, and NVIDIA's MPS daemon started when it works (it lets several
# processes share the GPU concurrently).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! python3 -c "import ot" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
python3 -c "import torch, numpy, scipy, sklearn, ot; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0), '| numpy', numpy.__version__, 'scipy', scipy.__version__, 'sklearn', sklearn.__version__, 'POT', ot.__version__)"
nproc
if command -v nvidia-cuda-mps-control >/dev/null; then
    nvidia-cuda-mps-control -d 2>&1 && sleep 1
    if ! timeout 60 python3 -c "import torch; torch.zeros(1, device='cuda'); print('MPS client ok')"; then
        echo quit | nvidia-cuda-mps-control; echo "MPS off"
    fi
fi
