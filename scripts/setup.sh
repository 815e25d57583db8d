#!/usr/bin/env bash
# Sets up a Debian 12 machine for Ridgeline, builds it, and optionally runs the main job or the
# test suite. Idempotent: every step checks first and skips what is already there, so a second
# run costs seconds plus an incremental build.
#
#   bash scripts/setup.sh            install, export the model zoo, build
#   bash scripts/setup.sh --main     ... then analyze models/resnet50.onnx into out/resnet50.html
#   bash scripts/setup.sh --tests    ... then run the whole test suite (its exit code is ours)
#
# Environment knobs (all optional):
#   RIDGE_BUILD_DIR  build folder; default build/release via the "release" CMake preset
#   RIDGE_JOBS       parallel build jobs (default 2)
#   RIDGE_SKIP_APT=1 never call apt-get (report missing packages and go on)
set -euo pipefail

MODE=""
case "${1:-}" in
  "") ;;
  --main | --tests) MODE="$1" ;;
  -h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "setup.sh: unknown argument '$1' (expected --main, --tests or nothing)" >&2
    exit 2
    ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"
JOBS="${RIDGE_JOBS:-2}"
START=$SECONDS

step() { printf '\n== [%3d s] %s\n' $((SECONDS - START)) "$*"; }
run() {
  printf '+ %s\n' "$*"
  "$@"
}

# --- 1. Debian packages -----------------------------------------------------------------------
# Pinned by name only: Debian 12 (bookworm) fixes the versions. The Python packages are what
# torch/torchvision and `import ultralytics` need; ultralytics itself comes from pip (--no-deps).
APT_PACKAGES=(
  # build
  cmake ninja-build g++ clang clang-format libclang-rt-14-dev git ca-certificates
  # C++ libraries
  libprotobuf-dev protobuf-compiler libonnx-dev libdnnl-dev nlohmann-json3-dev libcli11-dev
  # oneDNN's CMake package looks for OpenCL (a Recommends of libdnnl-dev, which
  # --no-install-recommends skips): without it, configuring fails
  ocl-icd-opencl-dev
  libfmt-dev libgtest-dev libbenchmark-dev libturbojpeg0-dev libpng-dev libhalide14-0-dev libopencv-dev
  # HTML report rendering checks
  chromium
  # Python: venv, torch, and ultralytics' imports
  python3-venv python3-torch python3-torchvision python3-yaml python3-psutil python3-requests
  python3-tqdm python3-pil python3-matplotlib python3-opencv
)

step "Debian packages (${#APT_PACKAGES[@]})"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "all present"
elif [[ "${RIDGE_SKIP_APT:-0}" == 1 ]]; then
  echo "missing (RIDGE_SKIP_APT=1, not installing): ${missing[*]}"
else
  echo "missing: ${missing[*]}"
  SUDO=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || {
      echo "setup.sh: not root and no sudo; install the packages above by hand" >&2
      exit 1
    }
    SUDO=(sudo)
  fi
  run "${SUDO[@]}" apt-get update
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}"
fi

# --- 2. Python venv ---------------------------------------------------------------------------
# Debian's torch 1.13 lives in the system site-packages, so the venv sees it. pip must never
# pull PyPI torch (gigabytes) nor upgrade numpy past Debian's (torch 1.13 is built against
# numpy 1.x): ultralytics goes in with --no-deps and numpy is pinned by a constraints file.
PY_PINS=(onnx==1.22.0 onnxruntime==1.22.1)
ULTRALYTICS_PIN=ultralytics==8.2.103 # 8.3.x swaps YOLOv8's head for a lighter one
VENV="$REPO/.venv"

step "Python venv ($VENV)"
if [[ ! -x "$VENV/bin/python" ]]; then
  run /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
want_pins=("${PY_PINS[@]}" "$ULTRALYTICS_PIN")
# Each pin "name==version" is checked against the installed distribution metadata: no network.
stale="$("$VENV/bin/python" - "${want_pins[@]}" <<'EOF'
import sys
from importlib import metadata
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        if metadata.version(name) == version:
            continue
    except metadata.PackageNotFoundError:
        pass
    print(pin)
EOF
)"
if [[ -z "$stale" ]]; then
  echo "pins satisfied: ${want_pins[*]}"
else
  numpy_version="$("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)')"
  echo "numpy==$numpy_version" >"$VENV/constraints.txt"
  run "$VENV/bin/pip" install --disable-pip-version-check -c "$VENV/constraints.txt" "${PY_PINS[@]}"
  run "$VENV/bin/pip" install --disable-pip-version-check --no-deps "$ULTRALYTICS_PIN"
fi

# --- 3. Model zoo -----------------------------------------------------------------------------
ZOO=(resnet18 resnet50 mobilenet_v2 efficientnet_b0 convnext_tiny yolov8n)
step "Model zoo (models/)"
zoo_missing=()
for name in "${ZOO[@]}"; do
  [[ -s "models/$name.onnx" && -s "models/$name.macs.json" ]] || zoo_missing+=("$name")
done
if ((${#zoo_missing[@]} == 0)); then
  echo "complete (${#ZOO[@]} models); re-export with: .venv/bin/python scripts/export_zoo.py --force"
else
  only="$(
    IFS=,
    echo "${zoo_missing[*]}"
  )"
  run "$VENV/bin/python" scripts/export_zoo.py --only "$only"
fi

# --- 4. Configure and build -------------------------------------------------------------------
BUILD_DIR="${RIDGE_BUILD_DIR:-build/release}"
step "Build ($BUILD_DIR, -j$JOBS)"
if [[ "$BUILD_DIR" == build/release ]]; then
  [[ -f build/release/build.ninja ]] || run cmake --preset release
  run cmake --build --preset release -j"$JOBS"
else
  # Same settings as the release preset, another folder (e.g. a per-engineer build).
  [[ -f "$BUILD_DIR/build.ninja" ]] || run cmake --preset release -B "$BUILD_DIR"
  run cmake --build "$BUILD_DIR" -j"$JOBS"
fi
RIDGE="$BUILD_DIR/tools/ridge/ridge"
echo "setup done in $((SECONDS - START)) s"

# --- 5. Main job or tests ---------------------------------------------------------------------
if [[ "$MODE" == --main ]]; then
  step "Main job: ridge analyze models/resnet50.onnx (predicted cost on an H100, fp16)"
  mkdir -p out
  run "$RIDGE" analyze models/resnet50.onnx --html out/resnet50.html --json out/resnet50.json
  echo "report: $REPO/out/resnet50.html"
  # Measured latency on this machine: the CUDA backend where a GPU is present, else the CPU.
  device=cpu
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 &&
    "$RIDGE" bench --help 2>/dev/null | grep -q cuda; then
    device=cuda
  fi
  step "Main job: ridge bench models/resnet50.onnx --device $device (measured latency)"
  run "$RIDGE" bench models/resnet50.onnx --device "$device" --duration-s 3
elif [[ "$MODE" == --tests ]]; then
  status=0
  step "Test suite (release build: every label)"
  if [[ "$BUILD_DIR" == build/release ]]; then
    run ctest --preset release -j"$JOBS" || status=$?
  else
    run ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS" || status=$?
  fi

  # Unit and malformed-input tests again under ASan+UBSan (RIDGE_CI_ASAN=0 skips). Only the
  # executables of those tests are built, to keep CI's time in bounds.
  if [[ "${RIDGE_CI_ASAN:-1}" == 1 ]]; then
    step "Sanitizers: unit + fuzz labels under ASan+UBSan (build/asan)"
    [[ -f build/asan/build.ninja ]] || run cmake --preset asan -DRIDGE_ENABLE_CUDA=OFF
    mapfile -t asan_tests < <(ctest --test-dir build/asan -N -L 'unit|fuzz' |
      sed -n 's/^ *Test *#[0-9]*: //p')
    targets=(ridge)
    all_targets="$(ninja -C build/asan -t targets all)"
    for t in "${asan_tests[@]}"; do
      grep -q "^$t:" <<<"$all_targets" && targets+=("$t")
    done
    targets+=(ridge_malformed)
    run cmake --build build/asan -j"$JOBS" --target "${targets[@]}"
    run ctest --test-dir build/asan --output-on-failure -j"$JOBS" -L 'unit|fuzz' || status=$?
  fi

  # libFuzzer harnesses, briefly (RIDGE_FUZZ_SECONDS caps each; 0 skips).
  # Deterministic by default (fixed seed, fixed runs; 120 s cap each): the test command must give
  # the same verdict on every run. RIDGE_FUZZ_DETERMINISTIC=0 explores with a random seed.
  fuzz_seconds="${RIDGE_FUZZ_SECONDS:-120}"
  if [[ "$fuzz_seconds" != 0 ]]; then
    step "Fuzzers (scripts/fuzz.sh, deterministic=${RIDGE_FUZZ_DETERMINISTIC:-1})"
    RIDGE_FUZZ_DETERMINISTIC="${RIDGE_FUZZ_DETERMINISTIC:-1}" RIDGE_RELEASE_BUILD="$BUILD_DIR" \
      run bash scripts/fuzz.sh "$fuzz_seconds" || status=$?
  fi
  echo "tests finished in $((SECONDS - START)) s total, exit code $status"
  exit "$status"
fi
