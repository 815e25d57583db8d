#!/usr/bin/env bash
# Renders an HTML report in headless chromium and checks the PNG is a real picture.
#   scripts/screenshot_report.sh REPORT.html OUT.png
# Exit 0: screenshot written and non-trivial; 1: failure; 77: chromium not installed (skip).
set -euo pipefail
html=${1:?usage: screenshot_report.sh REPORT.html OUT.png}
png=${2:?usage: screenshot_report.sh REPORT.html OUT.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
  echo "chromium not found: skipping screenshot" >&2
  exit 77
fi
[[ -f "$html" ]] || { echo "no such report: $html" >&2; exit 1; }
rm -f "$png"
# A private profile dir keeps runs independent; the timeout guards against a hung browser.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$profile" \
  --screenshot="$png" --window-size=1400,2000 "file://$(realpath "$html")" >/dev/null 2>&1 || true
[[ -s "$png" ]] || { echo "chromium wrote no screenshot" >&2; exit 1; }
# PNG signature, then pixel variety: a blank page compresses to a few KB, the chart does not.
python3 - "$png" <<'PY'
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, width, height = 8, b"", 0, 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, color = struct.unpack(">IIBB", body[:10])
        if depth != 8 or color not in (2, 6):
            sys.exit("unexpected PNG format")
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
# A blank page compresses to a few KB and holds a handful of byte values; the chart's axes,
# roofs, coloured points and tables do not.
distinct = len(set(raw))
print(f"{sys.argv[1]}: {width}x{height}, {len(data)} bytes, {distinct} distinct byte values")
if len(data) < 30000 or distinct < 32:
    sys.exit("screenshot looks blank")
PY
