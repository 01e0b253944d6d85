#!/usr/bin/env bash
# System packages the report and its tests need, from Debian's archive, installed only if missing:
#   chromium        the headless browser tests/test_report.py drives through Playwright
#   fonts-noto-cjk  a CJK font, so Chinese labels in `osint graph --export png` are not boxes
#   postgresql      the server programs (initdb, postgres); the tests start a private cluster of their own
#                   (tests/lab/pg.py) and need no running service
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family 2>/dev/null | grep -q .; }; then
  need+=(fonts-noto-cjk fontconfig)
fi
if ! { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }; then
  need+=(postgresql)
fi
if ((${#need[@]} == 0)); then
  echo "system packages: chromium, a CJK font and PostgreSQL are installed"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "error: need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "system packages: installing ${need[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
