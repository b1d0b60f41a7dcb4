#!/usr/bin/env bash
# The purge through every layer of a cluster (scripts/cluster.sh, three nodes, the sanitizer
# build): with an hour's --attr-timeout, --front-ttl and --recheck, a blob overwritten in the
# container shows at once after a purge sent to the front: the front had a HIT, then a MISS
# with the new bytes; every node's derived-image cache and blobfs serve the new version (each
# node was told, its blobfs too), and so does a video's thumbnail; a prefix purge; a purge
# sent to a node directly; 401 without or with a wrong key, and nothing purged; the status
# goes to Completed.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
src=$T/src
mkdir -p "$src/photos" "$src/other"
photo "$src/photos/cat.jpg" 600 400
cp "$src/photos/cat.jpg" "$src/photos/dog.jpg"
cp "$src/photos/cat.jpg" "$src/other/fox.jpg"
photo "$T/new.jpg" 500 200
mk=$ROOT/build/rel/tools/vid_mkclip
[ -x "$mk" ] || mk=$ROOT/build/san/tools/vid_mkclip
mkdir -p "$src/video"
"$mk" "$src/video/clip.mp4" frames=10 >/dev/null            # 320x240
"$mk" "$T/new.mp4" size=160x120 frames=10 >/dev/null
az container media >/dev/null
az upload media "$src" >/dev/null
printf 'private_%s' "$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')" >"$T/key"
chmod 600 "$T/key"
C=$T/cluster
at_exit "'$ROOT/scripts/cluster.sh' down --dir '$C'"
AZURE_STORAGE_BLOB_ENDPOINT=$AZ_ENDPOINT AZURE_STORAGE_ACCOUNT_CONTAINER=media \
AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media) BLOBKIT_BIN=$BIN \
    "$ROOT/scripts/cluster.sh" up --nodes 3 --dir "$C" --port 0 --attr-timeout 3600 \
    --front-ttl 3600 -- --public-endpoint /demo=@MOUNT --sign-key-file "$T/key" \
    --recheck 3600 --workers 2 >"$T/up.out"
F=$(sed -n 's/^FRONT=//p' "$T/up.out")
key=(-u "$(cat "$T/key"):")

peers_ok() {
    local k
    for k in 1 2 3; do
        [ "$(grep -c '^peer http://127\.0\.0\.[2-4]:[0-9]*$' "$C/node$k/cluster")" = 2 ] &&
            grep -qx "front $F" "$C/node$k/cluster" && test -S "$C/node$k/ctl.sock" || return 1
    done
}
ok "each node's cluster file: the two others and the front; its blobfs socket" peers_ok

# front PATH: the front's answer; X-Cache-Status on stdout, the body's dimensions after it.
front() { curl -s -D "$T/h" -o "$T/b" "$F$1" && echo "$(header X-Cache-Status "$T/h") $(dims "$T/b")"; }
# on_nodes PATH: each node's own answer (not through the front), dimensions, one line.
on_nodes() {
    local k addr port rest out=''
    while IFS=$'\t' read -r k addr port rest; do
        curl -sf -o "$T/n" "http://$addr:$port$1" && out="$out $(dims "$T/n")" || out="$out -"
    done <"$C/nodes.tsv"
    echo "${out# }"
}
# purge URL [CURL ARGS...]: POST to the front; the body in $T/ans, the status on stdout.
purge() {
    local u=$1; shift
    curl -s -o "$T/ans" -w '%{http_code}' -X POST -d '{"url": "'"$u"'"}' "$@" "$F/v1/files/purge"
}
state() {
    curl -s "${key[@]}" "$F/v1/files/purge/$1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'
}
request_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requestId"])' "$T/ans"; }
completed() { [ "$(state "$1")" = Completed ]; }

for p in cat dog; do front "/demo/tr:w-100/photos/$p.jpg" >/dev/null; done
front /demo/tr:w-100/other/fox.jpg >/dev/null
is "the front: a HIT the second time" "$(front /demo/tr:w-100/photos/cat.jpg)" "HIT 100x67"
front /demo/tr:h-50/photos/cat.jpg >/dev/null
is "another chain of it, cached too" "$(front /demo/tr:h-50/photos/cat.jpg)" "HIT 75x50"
is "every node, asked itself, has it" "$(on_nodes /demo/tr:w-100/photos/cat.jpg)" \
    "100x67 100x67 100x67"
# A video's thumbnail: 302/202 while its job runs, then 200, cached at the front.
thumb=/demo/video/clip.mp4/ik-thumbnail.jpg
thumb_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$F$thumb")" = 200 ]; }
ok "a video's thumbnail through the front" wait_until 60 thumb_ok
is "... cached there" "$(front $thumb)" "HIT 320x240"
on_nodes /demo/tr:w-100/photos/dog.jpg >/dev/null
for b in photos/cat.jpg photos/dog.jpg other/fox.jpg; do az put media "$b" "$T/new.jpg" >/dev/null; done
is "overwritten in the container: the front still has the old version" \
    "$(front /demo/tr:w-100/photos/cat.jpg)" "HIT 100x67"
is "and so do the nodes (an hour's --attr-timeout and --recheck)" \
    "$(on_nodes /demo/tr:w-100/photos/cat.jpg)" "100x67 100x67 100x67"

is "a purge without the key: 401" "$(purge "$F/demo/photos/cat.jpg")" 401
is "with a wrong key: 401" "$(purge "$F/demo/photos/cat.jpg" -u wrong:)" 401
is "a forwarded purge without the key: 401" \
    "$(purge "$F/demo/photos/cat.jpg" -H 'X-Blobkit-Purge-Scope: node')" 401
is "nothing was purged: the front" "$(front /demo/tr:w-100/photos/cat.jpg)" "HIT 100x67"
is "nothing was purged: the nodes" "$(on_nodes /demo/tr:w-100/photos/cat.jpg)" \
    "100x67 100x67 100x67"

is "a purge through the front, with the key: 201" "$(purge "$F/demo/photos/cat.jpg" "${key[@]}")" 201
id=$(request_id)
first=$(state "$id")
ok "its status: Pending or Completed at first ($first)" eval '[[ "$first" =~ ^(Pending|Completed)$ ]]'
ok "then Completed" wait_until 60 completed "$id"
is "the front: a MISS with the new bytes" "$(front /demo/tr:w-100/photos/cat.jpg)" "MISS 100x40"
is "then a HIT of them" "$(front /demo/tr:w-100/photos/cat.jpg)" "HIT 100x40"
is "every variant went: another chain" "$(front /demo/tr:h-50/photos/cat.jpg)" "MISS 125x50"
is "every node: the new version" "$(on_nodes /demo/tr:w-100/photos/cat.jpg)" \
    "100x40 100x40 100x40"
told() {
    local k
    for k in 1 2 3; do
        grep -q "forgot the cached metadata of photos/cat.jpg" "$C/node$k/blobfs.log" &&
            [ "$(stat -c %s "$C/node$k/mnt/photos/cat.jpg")" = "$(stat -c %s "$T/new.jpg")" ] ||
            return 1
    done
}
ok "every node's blobfs was told, and its mount shows the new size" told

az put media video/clip.mp4 "$T/new.mp4" >/dev/null
is "a video overwritten: the front still has its old thumbnail" "$(front $thumb)" "HIT 320x240"
is "the video purged: 201" "$(purge "$F/demo/video/clip.mp4" "${key[@]}")" 201
ok "Completed" wait_until 60 completed "$(request_id)"
ok "its thumbnail is made again" wait_until 60 thumb_ok
is "... of the new video (the front dropped it, the node's video cache had no result for it)" \
    "$(front $thumb | cut -d' ' -f2)" 160x120
is "the dog, not purged, stays cached at the front" "$(front /demo/tr:w-100/photos/dog.jpg)" \
    "HIT 100x67"

is "a prefix purge: 201" "$(purge "$F/demo/photos/*" "${key[@]}")" 201
ok "Completed" wait_until 60 completed "$(request_id)"
is "photos/dog.jpg at the front: new" "$(front /demo/tr:w-100/photos/dog.jpg)" "MISS 100x40"
is "and on every node" "$(on_nodes /demo/tr:w-100/photos/dog.jpg)" "100x40 100x40 100x40"
is "other/fox.jpg, outside the prefix, stays" "$(front /demo/tr:w-100/other/fox.jpg)" "HIT 100x67"

IFS=$'\t' read -r _ addr port _ <<<"$(sed -n 2p "$C/nodes.tsv")"
is "a purge sent to a node itself: 201" "$(curl -s -o "$T/ans" -w '%{http_code}' -X POST \
    "${key[@]}" -d '{"url": "'"$F"'/demo/other/fox.jpg"}' "http://$addr:$port/v1/files/purge")" 201
ok "Completed (asked at that node)" wait_until 60 eval \
    "curl -s ${key[*]@Q} http://$addr:$port/v1/files/purge/$(request_id) | grep -q Completed"
is "other/fox.jpg at the front: new" "$(front /demo/tr:w-100/other/fox.jpg)" "MISS 100x40"
ok "no purge failed on any node" eval "! grep -q 'purge .*: failed' '$C'/node*/blobhttpd.log"
ok "the key is in no node's log" eval "! grep -qF '$(cat "$T/key")' '$C'/node*/*.log"
