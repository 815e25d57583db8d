#!/usr/bin/env bash
# GPU round trip for the CUDA engine. Here (no GPU):
#   scripts/gpu_roundtrip.sh            builds build/cuda, bundles binaries + the non-system
#                                       shared libraries they need into .gpu/ (git-ignored via
#                                       .git/info/exclude) and prints the device `run` call.
# There (the GPU machine, repo root):
#   bash scripts/gpu_roundtrip.sh --remote [tests|bench|all|predict]
#                                       exports the zoo with its torch, runs the cuda-labelled
#                                       tests, ridge_gpu_bench and bench/torch_peer.py; results
#                                       land in $OUT (bench/results/cuda_vs_torch.{json,md}).
#   bash scripts/gpu_roundtrip.sh --remote pipeline
#                                       the short round (~4 min): GPU tests of the vision and
#                                       pipeline code, `ridge pipeline` naive vs overlapped for
#                                       yolov8n and resnet50 from synthetic 1080p frames,
#                                       `ridge probe` and `ridge bench --device cuda --profile`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUNDLE=.gpu
TARGETS="ridge ridge_gpu_bench cuda_kernel_test cuda_zoo_test cuda_memory_plan_test
  vision_preprocess_cuda_test vision_postprocess_cuda_test runtime_pipeline_cuda_test
  ridge_preprocess_gpu_bench cuda_measure_gpu_test cuda_tactic_test runtime_engine_file_gpu_test
  runtime_preprocessed_engine_test cuda_chain_test cuda_context_test cuda_layout_test cuda_fallback_test ${RIDGE_EXTRA_GPU_TARGETS:-}"

if [[ "${1:-}" != "--remote" ]]; then
  # RIDGE_CUDA_BUILD_DIR=build/release reuses setup.sh's build (CUDA is on there too when nvcc
  # and cuDNN are found) instead of compiling everything a second time.
  BUILD=${RIDGE_CUDA_BUILD_DIR:-build/cuda}
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRIDGE_ENABLE_CUDA=ON >/dev/null
  ninja -C "$BUILD" -j2 $TARGETS
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/bin" "$BUNDLE/lib" "$BUNDLE/models"
  for t in $TARGETS; do cp "$(find "$BUILD" -name "$t" -type f -executable | head -1)" "$BUNDLE/bin/"; done
  strip "$BUNDLE"/bin/*
  # Libraries the GPU machine lacks (no libonnx, no oneDNN there); CUDA, cuDNN, cuBLAS and the
  # C/C++ runtimes come from its image.
  ldd "$BUNDLE"/bin/* | awk '/=> \//{print $3}' | sort -u |
    grep -Ev '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux[^/]*|libcuda|libcudart|libcudnn[^/]*|libcublas[^/]*|libcublasLt|libnvrtc[^/]*|libz)\.so' |
    while read -r lib; do cp -L "$lib" "$BUNDLE/lib/"; done
  # The device call carries at most 64 MiB. The test binaries each hold the same static
  # libraries, so one solid archive with a dictionary larger than a binary stores that code
  # about once (~4x smaller than compressing each file alone; oneDNN ~40 MB -> ~6).
  tar -C "$BUNDLE" -cf - bin lib | xz -T1 -6 --lzma2=dict=256MiB > "$BUNDLE/payload.tar.xz"
  rm -rf "$BUNDLE/bin" "$BUNDLE/lib"
  # The small zoo model torch cannot re-export there (ultralytics); torchvision ones are re-exported.
  [[ -f models/yolov8n.onnx ]] && cp models/yolov8n.onnx "$BUNDLE/models/"
  du -sh "$BUNDLE"
  echo "run(command='bash scripts/gpu_roundtrip.sh --remote all', carry=['.gpu'], timeout_s=540)"
  exit 0
fi

set +e +o pipefail  # there, report everything; one failing step must not hide the rest
what=${2:-all}  # one mode or several, comma-separated (kernels,autotune-start)
has() { [[ ",$what," == *",$1,"* ]]; }
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
[[ -f $BUNDLE/payload.tar.xz ]] && xz -dc "$BUNDLE/payload.tar.xz" | tar -C "$BUNDLE" -xf -
chmod +x "$BUNDLE"/bin/* 2>/dev/null
export LD_LIBRARY_PATH="$ROOT/$BUNDLE/lib:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true
# Tests look for the zoo under the model dir compiled in here (/work/main/models).
mkdir -p models && cp -n "$BUNDLE"/models/*.onnx models/ 2>/dev/null || true
if [[ ! -e /work/main/models ]]; then mkdir -p /work/main && ln -s "$ROOT/models" /work/main/models; fi
# ... and run the CLI at the path compiled in here (RIDGE_CLI_PATH).
for d in build/cuda build/release; do
  if [[ ! -e /work/main/$d/tools/ridge/ridge ]]; then
    mkdir -p /work/main/$d/tools/ridge && ln -s "$ROOT/$BUNDLE/bin/ridge" /work/main/$d/tools/ridge/ridge
  fi
done
has pipeline && export EXPORT_MODELS=resnet18,resnet50
LD_LIBRARY_PATH= python3 - <<'PY'
import os, sys, torch
# The zoo's own builder: seeded random weights with calibrated BatchNorm statistics, the same
# weights as the export on the build machine (scripts/export_zoo.py explains the calibration).
sys.path.insert(0, "scripts")
from export_zoo import build
names = os.environ.get("EXPORT_MODELS", "resnet18,resnet50,mobilenet_v2,efficientnet_b0,convnext_tiny")
for name in names.split(","):
    path = f"models/{name}.onnx"
    if os.path.exists(path):
        continue
    m = build(name)
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(m, x, path, opset_version=17, dynamo=False, input_names=["input"],
                      output_names=["output"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    print("exported", path, flush=True)
PY
B=$BUNDLE/bin
# A step under a time cap, printing only its tail: the device minutes are few.
step() { local cap=$1; shift; echo "### $*"; timeout "$cap" "$@" 2>&1 | tail -${TAIL:-25}; }
if { has tests || has all; }; then
  $B/cuda_memory_plan_test --gtest_brief=1 2>&1 | tail -3
  $B/cuda_kernel_test 2>&1 | grep -Ev '^\[ +(RUN|OK) ' | tail -40
  timeout 240 $B/cuda_zoo_test 2>&1 | grep -E 'err|FAIL|PASS|Failure|Expected|Which|skip|SKIP|unsupported|cannot' | head -60 || true
fi
if { has bench || has all; }; then
  rm -f "$OUT/ridge.jsonl"
  # Where the time goes (eager, per step) for the models furthest from torch.compile.
  for m in resnet50 mobilenet_v2 efficientnet_b0; do
    $B/ridge_gpu_bench models/$m.onnx --precision fp16 --batch 1 --runs 50 --profile 12 2>&1 | tail -14
  done
  for m in resnet18 resnet50 mobilenet_v2 efficientnet_b0 convnext_tiny yolov8n; do
    for p in fp16 fp32; do
      for b in 1 32; do
        $B/ridge_gpu_bench models/$m.onnx --precision $p --batch $b --runs 300 --warmup 50 \
          --json "$OUT/ridge.jsonl" 2>&1 | tail -2 || true
      done
    done
  done
  # TORCH_MODES=eager,cuda_graph,compile,autotune once autotune-start has filled the cache.
  TORCHINDUCTOR_CACHE_DIR=/tmp/inductor_cache timeout ${TORCH_TIMEOUT:-300} python3 bench/torch_peer.py \
    --ridge "$OUT/ridge.jsonl" --out "$OUT/cuda_vs_torch" --modes ${TORCH_MODES:-eager,cuda_graph,compile} \
    --models ${TORCH_MODELS:-resnet18,resnet50,mobilenet_v2,efficientnet_b0,convnext_tiny} || true
fi
if has kernels; then
  # Own-kernel changes: their tests and timings, the zoo against the CPU, the models they speed up.
  $B/cuda_kernel_test --gtest_brief=1 2>&1 | grep -E "timing|FAILED|Failure|PASSED|Expected|Which|mean\[" | head -70
  $B/cuda_chain_test --gtest_brief=1 2>&1 | grep -E "FAILED|Failure|PASSED|Expected|Which" | head -20
  # The depthwise and ConvNeXt models, default and optional kernels (`*_optional_kernels`).
  timeout 240 $B/cuda_zoo_test --gtest_brief=1 \
    --gtest_filter='*mobilenet*:*efficientnet*:*convnext*' 2>&1 |
    grep -E "FAILED|Failure|PASSED|top-1|Which" | head -40
  # The kernels that are off by default until measured, A/B in this call: the depthwise tile
  # kernels, then also cuBLASLt's GELU epilogue; and which kernel each depthwise layer chose.
  for m in mobilenet_v2 efficientnet_b0 convnext_tiny; do
    for b in 1 32; do
      for opt in "" --depthwise-tiles "--depthwise-tiles --gemm-gelu-epilogue"; do
        [[ $m != convnext_tiny && $opt == *gelu* ]] && continue  # no GELU after a GEMM there
        $B/ridge_gpu_bench models/$m.onnx --precision fp16 --batch $b --runs 300 --warmup 50 $opt \
          2>&1 | tail -1 | sed "s/$/ ${opt:-(default)}/"
      done
    done
  done
  $B/ridge_gpu_bench models/convnext_tiny.onnx --precision fp16 --batch 32 --runs 10 \
    --depthwise-tiles --build-log 2>&1 | grep depthwise | cut -c1-160 | head -20
fi
if has profile; then
  # Where the batch-32 time goes for the models furthest from torch.compile (slowest steps,
  # eager), then ResNet-50 fp16 throughput at batch 256 (issue 4).
  for m in ${PROFILE_MODELS:-convnext_tiny efficientnet_b0 mobilenet_v2 resnet18 yolov8n}; do
    echo "### $m b32 fp16"
    timeout 60 $B/ridge_gpu_bench models/$m.onnx --precision fp16 --batch 32 --runs 100 \
      --profile ${PROFILE_TOP:-14} 2>&1 | tail -$((${PROFILE_TOP:-14} + 4))
  done
  echo "### resnet50 b256 fp16"
  timeout 90 $B/ridge_gpu_bench models/resnet50.onnx --precision fp16 --batch 256 --runs 100 \
    --warmup 20 --json "$OUT/resnet50_b256.jsonl" 2>&1 | tail -3
fi
if has engine; then
  # CUDA engine features: chain fusion, layouts and channel padding, execution contexts, CPU
  # fallback, the kernels, the zoo against the CPU (fp16 top-1 over 100 inputs); then the
  # channel-padding A/B and the contexts' throughput.
  TAIL=4 step 60 $B/cuda_chain_test --gtest_brief=1
  TAIL=4 step 60 $B/cuda_layout_test --gtest_brief=1
  TAIL=6 step 90 $B/cuda_context_test --gtest_brief=1
  TAIL=12 step 120 $B/cuda_fallback_test --gtest_brief=1
  TAIL=6 step 120 $B/cuda_kernel_test --gtest_brief=1
  echo "### cuda_zoo_test"
  timeout 300 $B/cuda_zoo_test --gtest_brief=1 2>&1 |
    grep -E 'FAIL|top-1 agreement|Failure|PASSED|Expected|Which|rel ' | head -60
  for m in yolov8n resnet50 convnext_tiny; do
    for pad in "" --no-pad-channels; do
      timeout 60 $B/ridge_gpu_bench models/$m.onnx --precision fp16 --batch 32 --runs 200 $pad \
        2>&1 | tail -1 | cut -c1-60 | sed "s/$/ ${pad:-padded}/"
    done
  done
  for m in resnet18 resnet50; do
    timeout 60 $B/ridge_gpu_bench models/$m.onnx --precision fp16 --batch 1 --runs 300 --contexts 4 2>&1 | tail -2
  done
fi
if has memcheck; then
  # compute-sanitizer memcheck over the GPU test binaries, each under a time cap (memcheck
  # runs kernels 10-100x slower); prints each binary's verdict and sanitizer summary. Child
  # processes (runtime_preprocessed_engine_test runs the ridge CLI) are checked too.
  for t in cuda_chain_test cuda_layout_test cuda_fallback_test cuda_context_test \
    runtime_preprocessed_engine_test runtime_engine_file_gpu_test vision_preprocess_cuda_test \
    vision_postprocess_cuda_test cuda_memory_plan_test cuda_tactic_test cuda_kernel_test \
    cuda_measure_gpu_test runtime_pipeline_cuda_test cuda_zoo_test; do
    filter=${MEMCHECK_FILTER:-*}
    # The zoo test's 100-input top-1 runs repeat the same kernels 100 times per model.
    [[ $t == cuda_zoo_test ]] && filter=${MEMCHECK_ZOO_FILTER:-*-*Top1*}
    echo "### memcheck $t ($filter)"
    RIDGE_TEST_SKIP_TIMED=1 timeout ${MEMCHECK_CAP:-120} compute-sanitizer --tool memcheck --target-processes all \
      --error-exitcode 9 $B/$t --gtest_brief=1 --gtest_filter="$filter" 2>&1 |
      grep -E "ERROR SUMMARY|PASSED|FAILED|Failure|Invalid|tests ran" | head -6
    echo "exit ${PIPESTATUS[0]}"
  done
fi
if has predict; then
  # Issue 4 items 3 and 9: ResNet-50 build time with a cold and a warm timing cache, then
  # prediction vs measurement over the zoo x batch {1,32} x {fp16,fp32} with the probed profile.
  $B/ridge probe -o "$OUT/probe_profile.json" 2>&1 | tail -3
  rm -f "$OUT/timing_cache.json"
  for run in cold warm; do
    /usr/bin/time -f "$run build+bench wall %e s" $B/ridge bench models/resnet50.onnx --device cuda \
      --precision fp16 --timing-cache "$OUT/timing_cache.json" --iterations 20 --verbose \
      2>&1 | grep -Ei "build|tactic|wall|cache" | tail -6
  done
  timeout 420 python3 bench/predict_vs_measure.py --ridge $B/ridge --profile "$OUT/probe_profile.json" \
    --timing-cache "$OUT/timing_cache.json" --out "$OUT/prediction_vs_measurement"
fi
if has pipeline; then
  # Most important first; the vision kernels' own tests ran on the GPU when they were written.
  TAIL=12 step 90 $B/runtime_pipeline_cuda_test --gtest_brief=1
  R=$B/ridge
  # Naive (reference preprocessing, engine, CPU post, one frame at a time), the same sequence
  # with Halide preprocessing (a faster-than-OpenCV baseline: the ratio against it is the
  # conservative one), then overlapped GPU pre/post at batch 1 and 32.
  for m in yolov8n resnet50; do
    P="$R pipeline models/$m.onnx --device cuda --quiet"
    TAIL=14 step 45 $P --source synthetic:100 --naive --json "$OUT/pipeline_${m}_naive.json"
    TAIL=14 step 45 $P --source synthetic:100 --pre cpu --post cpu --inflight 1 \
      --json "$OUT/pipeline_${m}_seq_halide.json"
    TAIL=14 step 45 $P --source synthetic:300 --pre gpu --post gpu --inflight 4 \
      --json "$OUT/pipeline_${m}_b1.json" --trace "/tmp/pipeline_${m}_b1.trace.json"
    TAIL=14 step 45 $P --source synthetic:1280 --pre gpu --post gpu --inflight 3 --batch 32 \
      --json "$OUT/pipeline_${m}_b32.json"
  done
  [[ -n ${SKIP_TESTS:-} ]] && exit 0  # pipelines only
  # Engine files (issue 4 item 6) and preprocessing inside the engine (issue 6 item 2).
  E=/tmp/ridge_engines && mkdir -p $E
  TAIL=12 step 60 $R build models/resnet18.onnx -o $E/r18.ridge --device cuda --precision fp16
  TAIL=4 step 30 $R run $E/r18.ridge
  TAIL=9 step 30 $R bench $E/r18.ridge --iterations 300
  cp $E/r18.ridge $E/corrupt.ridge && printf 'X' | dd of=$E/corrupt.ridge bs=1 seek=4000 conv=notrunc 2>/dev/null
  head -c 100000 $E/r18.ridge > $E/truncated.ridge
  for f in corrupt truncated; do
    echo "### ridge run $f.ridge"; $R run $E/$f.ridge 2>&1 | tail -2; echo "exit status ${PIPESTATUS[0]}"
  done
  TAIL=12 step 60 $R build models/yolov8n.onnx -o $E/y.ridge --device cuda --precision fp16 \
    --preprocess "letterbox=640,bgr2rgb,scale=1/255"
  TAIL=9 step 30 $R bench $E/y.ridge --iterations 300
  TAIL=12 step 60 $B/runtime_engine_file_gpu_test --gtest_brief=1
  TAIL=12 step 60 $B/runtime_preprocessed_engine_test --gtest_brief=1
  TAIL=16 step 90 $B/cuda_tactic_test --gtest_brief=1
  TAIL=20 step 100 $B/cuda_measure_gpu_test --gtest_brief=1
  TAIL=8 step 60 $B/cuda_kernel_test --gtest_brief=1
  TAIL=6 step 30 $B/vision_preprocess_cuda_test --gtest_brief=1
  TAIL=6 step 30 $B/vision_postprocess_cuda_test --gtest_brief=1
  TAIL=12 step 120 compute-sanitizer --tool memcheck --error-exitcode 9 $R pipeline models/yolov8n.onnx \
    --device cuda --pre gpu --post gpu --batch 4 --inflight 3 --source synthetic:12 --quiet
  TAIL=30 step 200 $B/cuda_zoo_test 2>&1 | grep -E 'err|FAIL|PASS|Failure|Expected|Which|skip|SKIP|top-1|max' | head -40
fi
if has autotune-start; then
  # torch.compile max-autotune spends minutes per model and batch autotuning (Triton templates
  # compiled and timed). Started here in its own process session, it runs on between calls
  # (the machine is held meanwhile anyway); its tuned kernels land in the inductor cache, so
  # the `bench` mode's max-autotune compile later finds them and times the result alone.
  mkdir -p /tmp/autotune
  TORCHINDUCTOR_CACHE_DIR=/tmp/inductor_cache LD_LIBRARY_PATH= setsid nohup python3 bench/torch_peer.py \
    --models ${AUTOTUNE_MODELS:-resnet18,mobilenet_v2,efficientnet_b0,convnext_tiny,resnet50} \
    --modes autotune --runs 50 --warmup 10 --out /tmp/autotune/cuda_vs_torch \
    >/tmp/autotune/log 2>&1 </dev/null &
  echo "max-autotune tuning started (pid $!); progress: --remote autotune-status"
fi
if has autotune-status; then
  echo "### max-autotune tuning: $(pgrep -f 'torch_peer.py.*autotune' >/dev/null && echo running || echo finished)"
  grep -E '^\{' /tmp/autotune/log 2>/dev/null | cut -c1-200
  tail -3 /tmp/autotune/log 2>/dev/null | cut -c1-300
fi
