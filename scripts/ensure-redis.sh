#!/usr/bin/env bash
# Make sure a redis-server binary exists for the Redis tests, best effort: never fails.
#
# The tests start their own redis-server on a free port (siklus.testing.redis_server_url)
# and skip with a reason when the binary is missing. On CI (root, apt-get available) the
# Debian package is installed here.

set -u
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-redis: installing redis-server with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1; } \
        || echo "ensure-redis: could not install redis-server; Redis tests will be skipped" >&2
else
    echo "ensure-redis: no redis-server; Redis tests will be skipped" >&2
fi
exit 0
