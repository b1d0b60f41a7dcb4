# tests/httpd_lib.sh: what blobhttpd's integration tests share. Sourced after tests/lib.sh.
#
#   httpd_start ARGS...      start blobhttpd on a free port (HTTPD_URL, HTTPD_PID, HTTPD_LOG);
#                            killed on exit; ready when /healthz answers. HTTPD_PREFIX, if
#                            set, is a command that execs it ("prlimit --nofile=64:64")
#   httpd_stop               SIGTERM, then wait: returns blobhttpd's exit status
#   make_images DIR          photo-like JPEG, PNG with alpha, text, CSS, a binary "video"
#   status URL [CURL ARGS]   the HTTP status of a GET (body to /dev/null unless -o is given)
#   header NAME FILE         one header's value from a curl -D dump
#   dims FILE                "WIDTHxHEIGHT" by vipsheader
#   sha FILE                 sha256 of a file

httpd_start() {
    local log=$T/blobhttpd.$((${HTTPD_N:-0} + 1)).log
    HTTPD_N=$((${HTTPD_N:-0} + 1))
    HTTPD_LOG=$log
    ${HTTPD_PREFIX:-} "$BIN/blobhttpd" --listen 127.0.0.1:0 --log "$log" "$@" &
    HTTPD_PID=$!
    at_exit "kill -9 $HTTPD_PID 2>/dev/null"
    if ! wait_until 20 grep -qs 'listening on' "$log"; then
        echo "# blobhttpd did not start:"; sed 's/^/#   /' "$log"
        return 1
    fi
    local port
    port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log" | head -n 1)
    HTTPD_URL=http://127.0.0.1:$port
    wait_until 20 curl -sf -o /dev/null "$HTTPD_URL/healthz"
}

httpd_stop() {
    kill -TERM "$HTTPD_PID" 2>/dev/null || return 1
    local rc=0
    wait "$HTTPD_PID" || rc=$?
    return $rc
}

# Photo-like pictures: smooth noise in colour, so JPEG sizes are realistic.
photo() { # FILE WIDTH HEIGHT
    local tmp=$T/photo.$$.v
    vips gaussnoise "$tmp" "$2" "$3" --mean 128 --sigma 40 &&
        vips gaussblur "$tmp" "$tmp.b.v" 1.2 &&
        vips bandjoin "$tmp.b.v $tmp.b.v $tmp.b.v" "$tmp.c.v" &&
        vips copy "$tmp.c.v" "$1[Q=85]" && rm -f "$tmp" "$tmp.b.v" "$tmp.c.v"
}

make_images() {
    local dir=$1
    mkdir -p "$dir/photos" "$dir/docs" "$dir/video"
    photo "$dir/photos/cat.jpg" 1200 800
    cp "$dir/photos/cat.jpg" "$dir/photos/big cat é.jpg"
    vips black "$T/alpha.v" 200 100 --bands 4 && vips copy "$T/alpha.v" "$dir/photos/logo.png"
    printf 'hello from blobkit\n%.0s' $(seq 40) >"$dir/docs/readme.txt"
    printf 'body { color: red }\n' >"$dir/docs/style.css"
    head -c 65536 /dev/urandom >"$dir/video/clip.mp4"
    head -c 3000 /dev/urandom >"$dir/photos/broken.jpg"
    printf '\xff\xd8\xff\xe0' | dd of="$dir/photos/broken.jpg" conv=notrunc status=none
}

status() {
    local url=$1 out=(-o /dev/null); shift
    [[ " $* " == *" -o "* ]] && out=()
    curl -s "${out[@]}" -w '%{http_code}' "$@" "$url"
}

header() {
    sed -n "s/^$1: *\(.*\)\r$/\1/Ip" "$2" | head -n 1
}

dims() {
    echo "$(vipsheader -f width "$1" 2>/dev/null)x$(vipsheader -f height "$1" 2>/dev/null)"
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# blobfs_mount CONTAINER DIR [BLOBFS ARGS...]: mount the container read-only at DIR with a
# minted read+list SAS (in a file, never on the command line); unmounted and killed on exit.
blobfs_mount() {
    local container=$1 dir=$2; shift 2
    local sas=$T/sas.$container
    mkdir -p "$dir"
    az sas service rl "$container" >"$sas"
    "$BIN/blobfs" --account "$AZ_ACCOUNT" --container "$container" --endpoint "$AZ_ENDPOINT" \
        --sas-file "$sas" -f --log-file "$T/blobfs.$container.log" "$@" "$dir" &
    BLOBFS_PID=$!
    at_exit "blobfs_unmount '$dir' $BLOBFS_PID"
    wait_until 20 mountpoint -q "$dir"
}

# blobfs_unmount DIR PID: unmount (blobfs then exits by itself), kill it if it lingers.
blobfs_unmount() {
    fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
    wait_until 5 eval "! kill -0 $2 2>/dev/null" || kill -9 "$2" 2>/dev/null || true
}

# seed_media CONTAINER DIR: make the test files in DIR and upload them to CONTAINER.
seed_media() {
    make_images "$2"
    az container "$1" >/dev/null
    az upload "$1" "$2" >/dev/null
}
