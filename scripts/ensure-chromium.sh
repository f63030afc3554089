#!/usr/bin/env bash
# Make sure a headless Chromium exists for the browser tests, best effort: never fails.
#
# The tests render siklus' HTML reports in it (siklus.testing.browser_probe) and skip with
# a reason when no browser exists. On CI (root, apt-get available) Debian's package is
# installed here.

set -u
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: installing chromium with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } \
        || echo "ensure-chromium: could not install chromium; browser tests will be skipped" >&2
else
    echo "ensure-chromium: no chromium; browser tests will be skipped" >&2
fi
exit 0
