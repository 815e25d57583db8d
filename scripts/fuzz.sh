#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan+UBSan) and runs each for SECONDS (default 60).
#   scripts/fuzz.sh [SECONDS] [HARNESS ...]        exploration: random seed, time-bound
#   RIDGE_FUZZ_DETERMINISTIC=1 scripts/fuzz.sh ... CI: fixed seed and a fixed number of runs per
#                                                   harness (SECONDS is only a safety cap), so a
#                                                   clean run here is a clean run in CI
# Every run first replays tests/fuzz/regressions/<harness>/ (inputs that once crashed; add each
# new crash there with the fix). Corpora start from crafted seeds and grow under
# build/fuzz/corpus. Prints per harness: executions, corpus size, crashes (libFuzzer stops at the
# first one and writes crash-* under build/fuzz/artifacts). Exit code non-zero on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_onnx_load fuzz_shapes_flag fuzz_npy fuzz_trt_json fuzz_engine_file
  fuzz_image_decode fuzz_preprocess)

build=build/fuzz
if [ ! -f $build/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRIDGE_FUZZ=ON -DRIDGE_BUILD_TESTS=OFF > $build.configure.log 2>&1 ||
    { cat $build.configure.log; exit 1; }
fi
# The target list is read once: `ninja ... | grep -q` under pipefail fails at random when grep
# exits early and ninja gets SIGPIPE, which silently dropped harnesses.
targets="$(ninja -C $build -t targets all 2>/dev/null)"
available=()
for h in "${harnesses[@]}"; do
  if grep -q "^$h:" <<<"$targets"; then
    available+=("$h")
  else
    echo "fuzz: $h is not a target of this build (skipped)"
  fi
done
echo "fuzz: building ${available[*]} (clang, ASan+UBSan)"
ninja -C $build -j"$(nproc)" "${available[@]}" > $build.build.log 2>&1 || { tail -40 $build.build.log; exit 1; }

mkdir -p $build/artifacts
status=0
for h in "${available[@]}"; do
  corpus=$build/corpus/$h
  # Deterministic runs start from the seeds alone, as in a fresh CI clone: a corpus grown by
  # earlier runs would send seed 1 elsewhere.
  if [ "${RIDGE_FUZZ_DETERMINISTIC:-0}" = 1 ]; then
    corpus=$build/corpus-deterministic/$h
    rm -rf "$corpus"
  fi
  mkdir -p "$corpus"
  seeds=tests/fuzz/seeds/${h#fuzz_}
  case $h in
    fuzz_onnx_load)
      # Small hand-built seeds keep executions fast; RIDGE_FUZZ_ZOO=1 adds zoo models (slow).
      seeder=${RIDGE_RELEASE_BUILD:-build/release}/tests/fuzz/ridge_malformed
      [ -x "$seeder" ] && "$seeder" --write-seeds "$corpus" || true
      if [ "${RIDGE_FUZZ_ZOO:-0}" = 1 ]; then
        for m in mobilenet_v2 yolov8n; do [ -f models/$m.onnx ] && cp -n models/$m.onnx "$corpus/" || true; done
      fi ;;
    fuzz_trt_json)
      d=../shared/data/tensorrt-engines
      [ -d $d ] && find $d -name '*.json' -size -2M -exec cp -n {} "$corpus/" \; || true ;;
  esac
  [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus/" 2>/dev/null || true
  max_len=$((1 << 20))
  [ "${RIDGE_FUZZ_ZOO:-0}" = 1 ] && max_len=$((16 << 20))
  log=$build/$h.log
  regressions=tests/fuzz/regressions/${h#fuzz_}
  dirs=("$corpus")
  [ -d "$regressions" ] && dirs+=("$regressions")
  budget=(-max_total_time="$seconds")
  if [ "${RIDGE_FUZZ_DETERMINISTIC:-0}" = 1 ]; then
    # Runs per harness sized for ~20-30 s on a 2-core VM (their speeds differ 300x).
    case $h in
      fuzz_trt_json) runs=6000 ;;
      fuzz_onnx_load | fuzz_engine_file | fuzz_preprocess) runs=120000 ;;
      fuzz_shapes_flag) runs=300000 ;;
      *) runs=600000 ;;
    esac
    budget+=(-seed=1 -runs=$runs)
    echo "fuzz: $h: $runs runs, seed 1 (cap ${seconds}s)"
  else
    echo "fuzz: $h for ${seconds}s"
  fi
  # The first directory receives new corpus entries; regressions are only read. A single
  # allocation over 512 MB is a finding (an input asking for memory); the process as a whole may
  # use libFuzzer's default 2 GB, as ASan's quarantine alone holds 256 MB of freed blocks and
  # long exploratory runs crept past a 512 MB total without leaking.
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
     ./$build/tests/fuzz/harness/$h "${dirs[@]}" "${budget[@]}" -rss_limit_mb=2048 -malloc_limit_mb=512 \
       -timeout=2 -max_len=$max_len -artifact_prefix=$build/artifacts/$h- > "$log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo "?")
    echo "fuzz: $h: $runs executions, corpus $(ls "$corpus" | wc -l) files, crashes = 0"
  else
    echo "fuzz: $h: FAILED (crash, leak, timeout or OOM); log: $log"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -10
    status=1
  fi
done
exit $status
