#!/usr/bin/env bash
# Install Vigie into ./.venv on a fresh machine, pinned by constraints.txt.
#   scripts/setup.sh          what `vigie demo` and `vigie serve` need
#   scripts/setup.sh --test   also the test tools and the system peers the tests start
#                             (Mosquitto, PostgreSQL client, Chromium, GStreamer RTSP server)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Vigie needs Python 3.11 or newer (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi

# System packages, installed only when missing (needs root, as on CI).
apt_pkgs=()
need() { dpkg -s "$1" >/dev/null 2>&1 || apt_pkgs+=("$1"); }
need mosquitto            # the demo's broker, and the broker the tests start
if [ "$want_test" = 1 ]; then
  need mosquitto-clients
  need chromium
  need python3-gi
  need gir1.2-gst-rtsp-server-1.0
  need gstreamer1.0-plugins-base
  need gstreamer1.0-plugins-good
  need gstreamer1.0-plugins-ugly
  need gstreamer1.0-plugins-bad   # h264parse: recorded clips are served without decoding
  need poppler-utils              # pdftotext, pdftoppm: the report tests read the PDFs back
  need gstreamer1.0-libav         # decoders: a clip that is not H.264 (MPEG-4 AVI) is served
  need opencv-doc                 # vtest.avi: real CCTV footage for the camera tests
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${apt_pkgs[*]}" >&2
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages: ${apt_pkgs[*]}" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt pip setuptools wheel
extra=""
[ "$want_test" = 1 ] && extra="[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".${extra}"
echo "setup: ready (.venv)" >&2
