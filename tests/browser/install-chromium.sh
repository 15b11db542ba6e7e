#!/usr/bin/env bash
# Debian's chromium for the report's browser tests (tests/test_report_html.py), run by
# `make test` before the tests. It never fails the setup: without root or apt-get it
# says why, and the browser tests skip with that reason.
set -uo pipefail

for browser in chromium chromium-browser google-chrome; do
    if command -v "$browser" >/dev/null 2>&1; then
        exit 0
    fi
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium.sh: no chromium, and not root on Debian: the browser tests skip" >&2
    exit 0
fi
echo "install-chromium.sh: installing Debian's chromium (no recommends) for the browser tests" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends chromium >/dev/null; }; then
    echo "install-chromium.sh: apt-get could not install chromium: the browser tests skip" >&2
fi
exit 0
