#!/usr/bin/env bash
# A blobkit cluster on this machine: N nodes (each its own blobfs mount of one container and
# its own blobhttpd, on 127.0.0.2, 127.0.0.3, ...) behind the cache tier, Varnish on
# 127.0.0.1 (deploy/varnish/blobkit.vcl), and hitch for HTTPS. docs/scale-out.md says why
# and how to run the same in production.
#
#   scripts/cluster.sh up --nodes N --dir DIR [--port P] [--tls-cert FILE --tls-key FILE
#                         [--tls-port P]] [--attr-timeout SEC] [--front-ttl SEC]
#                         [--front-mem MB] [--wait] [-- BLOBHTTPD_OPTIONS...]
#       start the cluster; prints FRONT=http://127.0.0.1:P (and FRONT_TLS=https://...).
#       BLOBHTTPD_OPTIONS go to every node, @MOUNT replaced by that node's mount (default:
#       --public-endpoint /demo=@MOUNT). --port and --tls-port 0 pick free ports (defaults
#       8080 and 8443). --attr-timeout goes to every blobfs; --front-ttl (60) is how long
#       the front trusts an object before asking its node again; --front-mem (256) is the
#       cache's memory. --wait: wait for Ctrl-C, then stop everything (make cluster).
#   scripts/cluster.sh down --dir DIR            stop everything by PID and unmount, also
#                                                after a partial start
#   scripts/cluster.sh add-node --dir DIR        one more node; the front is reloaded
#   scripts/cluster.sh remove-node --dir DIR --index K
#                                                stop node K, reload the front without it
#
# The container: blobfs's environment (AZURE_STORAGE_BLOB_ENDPOINT or AZURE_STORAGE_ACCOUNT,
# AZURE_STORAGE_ACCOUNT_CONTAINER, AZURE_STORAGE_SAS_TOKEN), or when the container is unset,
# an Azurite started in DIR with the demo's media in container "media". The token is kept
# in DIR/sas (mode 600) and reaches blobfs as --sas-file, never on a command line.
#
# Purges (ImageKit's POST /v1/files/purge, with --sign-key-file among BLOBHTTPD_OPTIONS): each
# blobfs listens on DIR/nodeK/ctl.sock (--control-socket) and its blobhttpd tells it
# (--blobfs-control); DIR/nodeK/cluster (--cluster-file) names the other nodes and the front,
# rewritten whenever a node comes or goes (docs/scale-out.md, "Purge").
#
# DIR/nodes.tsv: one line per running node, tab-separated: index address port blobhttpd_pid
# blobfs_pid mount. DIR/front.pid: varnishd's. Each node's logs are in DIR/nodeK/. DIR may
# be any folder root made (mode 700 too): the cache's unprivileged processes (group
# varnish) get search permission on it and its parents by an ACL entry, removed by down.
# Programs: BLOBKIT_BIN (default bin/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BLOBKIT_BIN:-$root/bin}

die() { echo "cluster: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{
        console.log(s.address().port); s.close(); })'
}

# poll SECONDS COMMAND...: until the command succeeds; 1 when time runs out.
poll() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# up_or_gone PID COMMAND...: the command succeeds, or PID has exited (no use waiting).
up_or_gone() { local pid=$1; shift; "$@" || ! kill -0 "$pid" 2>/dev/null; }

# show FILE...: the files that exist, indented, on stderr.
show() { local f; for f in "$@"; do [ -f "$f" ] && sed 's/^/  /' "$f" >&2; done; return 0; }

# alive PID NAME: PID runs a program whose command line names NAME (no PID reuse mistakes).
alive() { [ -n "$1" ] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q "$2"; }

# stop_pid PID NAME SECONDS: SIGTERM, wait, then SIGKILL; its children (varnishd's cache
# process) are waited for too, so nothing is left when this returns.
stop_pid() {
    local kids c
    alive "$1" "$2" || return 0
    kids=$(pgrep -P "$1" || true)
    kill -TERM "$1" 2>/dev/null || true
    poll "$3" eval "! alive $1 $2" || kill -KILL "$1" 2>/dev/null || true
    poll 5 eval "! alive $1 $2" || true
    for c in $kids; do
        poll 5 eval "! alive $c $2" || kill -KILL "$c" 2>/dev/null || true
    done
}

# ---- the container ------------------------------------------------------------------------

# Settings every node's blobfs gets, saved in DIR/blobfs.args (one argument a line, no
# secret) so add-node starts the same.
container_setup() {
    local dir=$1 attr=$2
    local args=()
    if [ -z "${AZURE_STORAGE_ACCOUNT_CONTAINER:-}" ]; then
        azurite_media "$dir"
        args+=(--endpoint "$(cat "$dir/azurite/endpoint")" --container media)
    else
        args+=(--container "$AZURE_STORAGE_ACCOUNT_CONTAINER")
        [ -z "${AZURE_STORAGE_BLOB_ENDPOINT:-}" ] ||
            args+=(--endpoint "$AZURE_STORAGE_BLOB_ENDPOINT")
        [ -n "${AZURE_STORAGE_ACCOUNT:-}" ] && args+=(--account "$AZURE_STORAGE_ACCOUNT")
        if [ -n "${AZURE_STORAGE_SAS_TOKEN:-}" ]; then
            (umask 077 && printf '%s\n' "$AZURE_STORAGE_SAS_TOKEN" >"$dir/sas")
        fi
    fi
    unset AZURE_STORAGE_SAS_TOKEN
    [ -f "$dir/sas" ] && args+=(--sas-file "$dir/sas")
    [ -n "$attr" ] && args+=(--attr-timeout "$attr")
    printf '%s\n' "${args[@]}" >"$dir/blobfs.args"
}

azurite_media() {
    local dir=$1 endpoint
    echo "cluster: starting Azurite with the demo's media (container 'media')" >&2
    endpoint=$("$root/scripts/azurite.sh" start "$dir/azurite")
    "$root/scripts/sample-media.sh" demo "$dir/media"
    node "$root/tests/node/azure.mjs" "$endpoint" container media >/dev/null
    node "$root/tests/node/azure.mjs" "$endpoint" upload media "$dir/media" >/dev/null
    (umask 077 && node "$root/tests/node/azure.mjs" "$endpoint" sas service rl media \
        --ttl 604800 >"$dir/sas")
}

# ---- nodes --------------------------------------------------------------------------------

node_addr() { echo "127.0.0.$(($1 + 1))"; }

# start_node DIR K: mount, start blobhttpd, append the node's line to nodes.tsv.
start_node() {
    local dir=$1 k=$2 nd=$1/node$2 addr port args=() opts=() a
    addr=$(node_addr "$k")
    [ "$k" -le 253 ] || die "no loopback address left for node $k"
    mkdir -p "$nd/mnt"
    mapfile -t args <"$dir/blobfs.args"
    setsid "$bin/blobfs" "${args[@]}" -f --log-file "$nd/blobfs.log" \
        --control-socket "$nd/ctl.sock" "$nd/mnt" </dev/null \
        >>"$nd/blobfs.log" 2>&1 &
    echo $! >"$nd/blobfs.pid"
    if ! poll 30 up_or_gone "$(cat "$nd/blobfs.pid")" mountpoint -q "$nd/mnt" ||
        ! mountpoint -q "$nd/mnt"; then
        show "$nd/blobfs.log"
        die "node $k: blobfs did not mount $nd/mnt"
    fi
    mapfile -t opts <"$dir/blobhttpd.args"
    for i in "${!opts[@]}"; do opts[$i]=${opts[$i]//@MOUNT/$nd/mnt}; done
    setsid "$bin/blobhttpd" --listen "$addr:0" --log "$nd/blobhttpd.log" \
        --access-log "$nd/access.log" --blobfs-control "$nd/ctl.sock" \
        --cluster-file "$nd/cluster" "${opts[@]}" </dev/null >>"$nd/blobhttpd.out" 2>&1 &
    echo $! >"$nd/blobhttpd.pid"
    local log=$nd/blobhttpd.log
    if ! poll 30 up_or_gone "$(cat "$nd/blobhttpd.pid")" grep -qs 'listening on' "$log" ||
        ! grep -qs 'listening on' "$log"; then
        show "$nd/blobhttpd.log" "$nd/blobhttpd.out"
        die "node $k: blobhttpd did not start"
    fi
    port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$nd/blobhttpd.log" | head -n 1)
    poll 30 curl -sf -o /dev/null "http://$addr:$port/healthz" || die "node $k: /healthz fails"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$addr" "$port" "$(cat "$nd/blobhttpd.pid")" \
        "$(cat "$nd/blobfs.pid")" "$nd/mnt" >>"$dir/nodes.tsv"
}

# write_cluster_files DIR: each node's --cluster-file: the other nodes, then the front (once
# it listens). Replaced whole (rename), so a purge never reads half a file.
write_cluster_files() {
    local dir=$1 k addr port rest front=''
    [ -s "$dir/front/listen" ] && front="http://127.0.0.1:$(front_port "$dir" a0)"
    while IFS=$'\t' read -r k rest; do
        {
            awk -F'\t' -v k="$k" '$1 != k { print "peer http://" $2 ":" $3 }' "$dir/nodes.tsv"
            [ -z "$front" ] || echo "front $front"
        } >"$dir/node$k/cluster.new"
        mv "$dir/node$k/cluster.new" "$dir/node$k/cluster"
    done <"$dir/nodes.tsv"
}

# stop_node DIR K: blobhttpd finishes its requests, then the mount goes.
stop_node() {
    local nd=$1/node$2
    stop_pid "$(cat "$nd/blobhttpd.pid" 2>/dev/null || true)" blobhttpd 15
    if mountpoint -q "$nd/mnt" 2>/dev/null; then
        fusermount3 -u "$nd/mnt" 2>/dev/null || umount -l "$nd/mnt" 2>/dev/null || true
    fi
    stop_pid "$(cat "$nd/blobfs.pid" 2>/dev/null || true)" blobfs 15
    rm -f "$nd/blobhttpd.pid" "$nd/blobfs.pid"
}

# ---- the front: Varnish (+ hitch for TLS) --------------------------------------------------

# The cache's processes run as users of group varnish (hitch's as _hitch): give that group
# search permission (x only) on DIR and each parent it cannot pass now; down takes it back.
grant_search() {
    local d
    d=$(cd "$1" && pwd)
    while [ "$d" != / ]; do
        if ! setpriv --reuid=vcache --regid=varnish --clear-groups test -x "$d" 2>/dev/null; then
            setfacl -m g:varnish:x "$d" || die "cannot give group varnish search permission on $d"
            echo "$d" >>"$1/acl.granted"
        fi
        d=$(dirname "$d")
    done
}

revoke_search() {
    [ -f "$1/acl.granted" ] || return 0
    while read -r d; do setfacl -x g:varnish "$d" 2>/dev/null || true; done <"$1/acl.granted"
    rm -f "$1/acl.granted"
}

# cluster.vcl for the nodes now in nodes.tsv (deploy/varnish/cluster.vcl.example explains it).
write_cluster_vcl() {
    local dir=$1 out=$1/front/cluster.vcl.new k addr port rest ttl
    {
        echo "# Written by scripts/cluster.sh for the nodes of $dir/nodes.tsv."
        echo 'probe blobkit_probe { .url = "/healthz"; .interval = 1s; .timeout = 2s;'
        echo '    .window = 3; .threshold = 2; .initial = 2; }'
        while IFS=$'\t' read -r k addr port rest; do
            echo "backend node$k { .host = \"$addr\"; .port = \"$port\"; .probe = blobkit_probe; }"
        done <"$dir/nodes.tsv"
        echo 'acl blobkit_purgers {'
        while IFS=$'\t' read -r k addr port rest; do echo "    \"$addr\";"; done <"$dir/nodes.tsv"
        echo '}'
        echo 'sub vcl_init {'
        echo '    new blobkit_nodes = directors.shard();'
        while IFS=$'\t' read -r k rest; do echo "    blobkit_nodes.add_backend(node$k);"; done \
            <"$dir/nodes.tsv"
        echo '    blobkit_nodes.reconfigure(replicas=160);'
        echo '}'
        echo 'sub blobkit_avif_policy {'
        grep -A1 -xF -e '--avif-auto' "$dir/blobhttpd.args" | grep -qx on ||
            echo '    set req.http.X-Blobkit-Avif = "";'
        echo '}'
        echo 'sub blobkit_cap_ttl {'
        ttl=$(cat "$dir/front/ttl")
        echo "    if (beresp.ttl > ${ttl}s) { set beresp.ttl = ${ttl}s; }"
        echo '}'
    } >"$out"
    mv "$out" "$dir/front/cluster.vcl"
}

varnishadm_() { varnishadm -n "$1/front/varnish" "${@:2}"; }

start_front() {
    local dir=$1 port=$2 mem=$3 f=$1/front
    cp "$root/deploy/varnish/blobkit.vcl" "$f/blobkit.vcl"
    write_cluster_vcl "$dir"
    chmod 755 "$f"
    chmod 644 "$f/blobkit.vcl" "$f/cluster.vcl"
    # http2 for hitch's ALPN; the second listener takes hitch's PROXY protocol connections.
    varnishd -n "$f/varnish" -a "127.0.0.1:$port" -a "tls=127.0.0.1:0,PROXY" \
        -p vcl_path="$f" -f "$f/blobkit.vcl" -s "malloc,${mem}m" -p feature=+http2 \
        -P "$dir/front.pid" >"$f/varnishd.out" 2>&1 ||
        { show "$f/varnishd.out"; die "varnishd did not start"; }
    poll 30 eval "varnishadm_ '$dir' ping >/dev/null 2>&1" || die "varnishd does not answer"
    varnishadm_ "$dir" debug.listen_address >"$f/listen"
    [ -s "$f/listen" ] || die "varnishd listens nowhere"
}

front_port() { awk -v n="$2" '$1 == n { print $3 }' "$1/front/listen"; }

reload_front() {
    local dir=$1 name
    write_cluster_vcl "$dir"
    name=blobkit_$(date +%s%N)
    varnishadm_ "$dir" vcl.load "$name" "$dir/front/blobkit.vcl" >"$dir/front/reload.out" 2>&1 ||
        { show "$dir/front/reload.out"; die "the new VCL does not compile"; }
    varnishadm_ "$dir" vcl.use "$name" >/dev/null
    # Old VCLs go once they are cold; a busy one stays until its requests are done.
    varnishadm_ "$dir" vcl.list 2>/dev/null | awk '$1 == "available" { print $NF }' |
        while read -r old; do varnishadm_ "$dir" vcl.discard "$old" >/dev/null 2>&1 || true; done
}

start_tls() {
    local dir=$1 cert=$2 key=$3 port=$4 f=$1/front
    [ "$port" = 0 ] && port=$(free_port)
    (umask 077 && cat "$key" "$cert" >"$f/tls.pem")
    {
        cat "$root/deploy/hitch/hitch.conf"
        echo "frontend = \"[127.0.0.1]:$port\""
        echo "backend = \"[127.0.0.1]:$(front_port "$dir" tls)\""
        echo "pem-file = \"$f/tls.pem\""
    } >"$f/hitch.conf"
    setsid hitch --config="$f/hitch.conf" </dev/null >"$f/hitch.log" 2>&1 &
    echo $! >"$f/hitch.pid"
    poll 20 eval "curl -sk -o /dev/null https://127.0.0.1:$port/healthz" ||
        { show "$f/hitch.log"; die "hitch did not start"; }
    echo "$port" >"$f/tls.port"
}

# ---- commands -----------------------------------------------------------------------------

cmd_up() {
    local n='' dir='' port=8080 cert='' key='' tls_port=8443 attr='' ttl=60 mem=256 wait=0
    while [ $# -gt 0 ]; do
        case $1 in
        --nodes) n=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --tls-cert) cert=$2; shift 2 ;;
        --tls-key) key=$2; shift 2 ;;
        --tls-port) tls_port=$2; shift 2 ;;
        --attr-timeout) attr=$2; shift 2 ;;
        --front-ttl) ttl=$2; shift 2 ;;
        --front-mem) mem=$2; shift 2 ;;
        --wait) wait=1; shift ;;
        --) shift; break ;;
        *) usage ;;
        esac
    done
    [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "--nodes N (1 to 99) is required"
    [ -n "$dir" ] || die "--dir DIR is required"
    [[ "$port$tls_port$ttl$mem" =~ ^[0-9]+$ ]] ||
        die "ports, --front-ttl and --front-mem are numbers"
    if [ -n "$cert$key" ] && { [ ! -r "$cert" ] || [ ! -r "$key" ]; }; then
        die "--tls-cert and --tls-key: readable files, both"
    fi
    for p in blobfs blobhttpd; do [ -x "$bin/$p" ] || die "$bin/$p is missing: run make first"; done
    for c in varnishd varnishadm setfacl setpriv curl node; do
        command -v "$c" >/dev/null || die "$c is missing: run scripts/setup.sh"
    done
    [ -z "$cert" ] || command -v hitch >/dev/null || die "hitch is missing: run scripts/setup.sh"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -s "$dir/nodes.tsv" ] && [ ! -f "$dir/front.pid" ] ||
        die "$dir holds a cluster already: scripts/cluster.sh down --dir $dir"
    # Whatever stops this half-way (a failed step, Ctrl-C) stops what had started.
    # (The traps expand DIR now: they may run where this function's locals are gone.)
    trap "echo 'cluster: up failed; stopping what started' >&2; cmd_down --dir '$dir'" EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$dir/front"
    : >"$dir/nodes.tsv"
    echo "$ttl" >"$dir/front/ttl"
    [ $# -gt 0 ] || set -- --public-endpoint /demo=@MOUNT
    printf '%s\n' "$@" >"$dir/blobhttpd.args"
    container_setup "$dir" "$attr"
    for k in $(seq 1 "$n"); do start_node "$dir" "$k"; done
    grant_search "$dir"
    start_front "$dir" "$port" "$mem"
    [ -z "$cert" ] || start_tls "$dir" "$cert" "$key" "$tls_port"
    write_cluster_files "$dir"
    trap - EXIT
    echo "FRONT=http://127.0.0.1:$(front_port "$dir" a0)"
    [ -z "$cert" ] || echo "FRONT_TLS=https://127.0.0.1:$(cat "$dir/front/tls.port")"
    if [ "$wait" = 1 ]; then
        trap "cmd_down --dir '$dir'; echo 'cluster: stopped, nothing left running' >&2" EXIT
        echo "cluster: $n nodes (see $dir/nodes.tsv); Ctrl-C stops everything" >&2
        while alive "$(cat "$dir/front.pid")" varnishd; do sleep 1; done
    fi
    trap - INT TERM
}

cmd_down() {
    local dir=''
    while [ $# -gt 0 ]; do
        case $1 in --dir) dir=$2; shift 2 ;; *) usage ;; esac
    done
    [ -n "$dir" ] || die "--dir DIR is required"
    [ -d "$dir" ] || return 0
    trap '' INT
    stop_pid "$(cat "$dir/front/hitch.pid" 2>/dev/null || true)" hitch 10
    stop_pid "$(cat "$dir/front.pid" 2>/dev/null || true)" varnishd 15
    rm -f "$dir/front/hitch.pid" "$dir/front.pid" "$dir/front/tls.pem"
    for nd in "$dir"/node*/; do
        [ -d "$nd" ] && stop_node "$dir" "$(basename "$nd" | sed 's/^node//')"
    done
    : >"$dir/nodes.tsv" 2>/dev/null || true
    [ -d "$dir/azurite" ] && "$root/scripts/azurite.sh" stop "$dir/azurite"
    revoke_search "$dir"
    trap - INT
}

cmd_add_node() {
    local dir='' k
    while [ $# -gt 0 ]; do
        case $1 in --dir) dir=$2; shift 2 ;; *) usage ;; esac
    done
    [ -s "$dir/nodes.tsv" ] || die "no cluster runs in '$dir'"
    k=$(( $(ls -d "$dir"/node* | sed 's/.*node//' | sort -n | tail -n 1) + 1 ))
    start_node "$dir" "$k"
    reload_front "$dir"
    write_cluster_files "$dir"
    echo "NODE=$k"
}

cmd_remove_node() {
    local dir='' k=''
    while [ $# -gt 0 ]; do
        case $1 in --dir) dir=$2; shift 2 ;; --index) k=$2; shift 2 ;; *) usage ;; esac
    done
    [ -s "$dir/nodes.tsv" ] || die "no cluster runs in '$dir'"
    awk -F'\t' -v k="$k" '$1 == k { f = 1 } END { exit !f }' "$dir/nodes.tsv" ||
        die "no node $k in $dir/nodes.tsv"
    [ "$(wc -l <"$dir/nodes.tsv")" -gt 1 ] || die "node $k is the last one: use down"
    awk -F'\t' -v k="$k" '$1 != k' "$dir/nodes.tsv" >"$dir/nodes.tsv.new"
    mv "$dir/nodes.tsv.new" "$dir/nodes.tsv"
    reload_front "$dir"
    write_cluster_files "$dir"
    stop_node "$dir" "$k"
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
add-node) shift; cmd_add_node "$@" ;;
remove-node) shift; cmd_remove_node "$@" ;;
*) usage ;;
esac
