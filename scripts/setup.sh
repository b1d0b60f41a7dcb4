#!/usr/bin/env bash
# Install what blobkit needs on Debian, idempotently and fast when all is there.
#
#   scripts/setup.sh          build, test and demo needs: compilers (clang and libFuzzer for
#                             the fuzz targets too), -dev libraries, FUSE, the cluster's
#                             cache tier (Varnish, hitch, setfacl), Node.js, Chromium (the
#                             browser tests drive it headless), the operations tests' tools
#                             (Prometheus's Python parser, groff and man, systemd-analyze,
#                             strace, dpkg-dev and lintian for make deb), and the npm test
#                             tooling pinned by package-lock.json; ffmpeg/ffprobe are the
#                             video tests' oracles (never run by blobkit)
#   scripts/setup.sh bench    the above, plus the peers the benchmarks measure against
set -euo pipefail
cd "$(dirname "$0")/.."

need=(build-essential pkg-config curl ca-certificates fuse3 libfuse3-dev libcurl4-openssl-dev
      libxml2-dev libssl-dev libvips-dev libvips-tools libmicrohttpd-dev libsystemd-dev libjansson-dev
      libjpeg62-turbo-dev libfontconfig-dev clang-format clang libclang-rt-14-dev libfuzzer-14-dev chromium
      fonts-dejavu-core fonts-noto-cjk fonts-noto-color-emoji varnish hitch acl openssl
      libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev libswresample-dev
      libavutil-dev ffmpeg python3-prometheus-client groff man-db systemd strace dpkg-dev
      lintian)
if [ "${1:-}" = bench ]; then
    need+=(wrk nginx-light rclone hyperfine time)
fi
need+=(jq) # the console's test reads its JSON answers with it
need+=(attr) # getfattr and setfattr for the extended attributes of the mount
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)

missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.blobkit-lock
if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
    echo "setup: installing npm test tooling (package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
fi

# FUSE needs its device; tests run as root, where fusermount3 needs nothing else.
[ -c /dev/fuse ] || { echo "setup: /dev/fuse is missing: FUSE mounts cannot work here" >&2; exit 1; }
