#!/usr/bin/env bash
# Fails if any tracked C++/CUDA source differs from clang-format's output (the repo's
# .clang-format). Prints the files to fix: `clang-format -i FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 0; }
bad=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f"
    bad=$((bad + 1))
  fi
done < <(git ls-files '*.h' '*.hpp' '*.cc' '*.cpp' '*.cu' '*.cuh' 2>/dev/null || find src tools tests -name '*.cc' -o -name '*.h')
echo "format check: $bad file(s) to fix"
[ "$bad" -eq 0 ]
