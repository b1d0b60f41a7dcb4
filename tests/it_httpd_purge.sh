#!/usr/bin/env bash
# The purge API on one node (no cluster): POST /v1/files/purge with the private key as the
# Basic user, then GET /v1/files/purge/ID; a blob overwritten in the container shows at once
# after a purge, through every layer of the node (blobfs's metadata with an hour's
# --attr-timeout, the derived-image cache with an hour's --recheck); a prefix purge; 401
# without or with a wrong key, and nothing purged then; bad requests get 4xx, never a crash;
# Pending while a peer has not answered, Failed when it went.
set -eu
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/httpd_lib.sh"

azurite_start
src=$T/src mnt=$T/mnt sock=$T/ctl.sock
mkdir -p "$src/photos" "$src/other"
photo "$src/photos/a.jpg" 400 300
cp "$src/photos/a.jpg" "$src/photos/b.jpg"
cp "$src/photos/a.jpg" "$src/other/c.jpg"
photo "$T/new.jpg" 500 200
az container media >/dev/null
az upload media "$src" >/dev/null
blobfs_mount media "$mnt" --attr-timeout 3600 --negative-timeout 3600 --control-socket "$sock"
printf 'private_key_123' >"$T/key"
httpd_start --public-endpoint "/media=$mnt" --sign-key-file "$T/key" --recheck 3600 \
    --blobfs-control "$sock"
host=${HTTPD_URL#http://}

# get PATH: the body to $T/got, its dimensions on stdout.
get() { curl -sf -o "$T/got" "$HTTPD_URL$1" && dims "$T/got"; }
# purge [CURL ARGS...]: POST a purge; the body to $T/ans, the status on stdout.
purge() {
    curl -s -o "$T/ans" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@" \
        "$HTTPD_URL/v1/files/purge"
}
key=(-u private_key_123:)
request_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requestId"])' "$T/ans"; }
state() {
    curl -s "${key[@]}" "$HTTPD_URL/v1/files/purge/$1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'
}
completed() { [ "$(state "$1")" = Completed ]; }

is "a derived image" "$(get /media/tr:w-100/photos/a.jpg)" 100x75
is "the original" "$(get /media/photos/a.jpg)" 400x300
is "photos/b.jpg" "$(get /media/tr:w-100/photos/b.jpg)" 100x75
is "other/c.jpg" "$(get /media/tr:w-100/other/c.jpg)" 100x75
az put media photos/a.jpg "$T/new.jpg" >/dev/null
az put media photos/b.jpg "$T/new.jpg" >/dev/null
az put media other/c.jpg "$T/new.jpg" >/dev/null
is "overwritten in the container: the node still serves the old version" \
    "$(get /media/tr:w-100/photos/a.jpg)" 100x75

body='{"url": "http://'$host'/media/photos/a.jpg"}'
is "a purge without credentials: 401" "$(purge -d "$body")" 401
ok "which asks for Basic auth" eval "curl -s -D - -o /dev/null -X POST -d '$body' \
    $HTTPD_URL/v1/files/purge | grep -qi '^WWW-Authenticate: Basic'"
is "with a wrong key: 401" "$(purge -u wrong: -d "$body")" 401
is "the key as the password: 401" "$(purge -u :private_key_123 -d "$body")" 401
is "nothing was purged" "$(get /media/tr:w-100/photos/a.jpg)" 100x75
ok "and the key is in no log" eval "! grep -q private_key_123 '$HTTPD_LOG' '$T'/blobfs.*.log"

is "a purge with the key: 201" "$(purge "${key[@]}" -d "$body")" 201
id=$(request_id)
ok "with a request ID ($id)" eval '[[ "$id" =~ ^[0-9a-f]{32}$ ]]'
ok "which completes" wait_until 30 completed "$id"
is "the derived image: the new version at once" "$(get /media/tr:w-100/photos/a.jpg)" 100x40
is "another chain of it too" "$(get /media/tr:h-50/photos/a.jpg)" 125x50
is "and the original" "$(get /media/photos/a.jpg)" 500x200
is "a blob not purged stays cached" "$(get /media/tr:w-100/photos/b.jpg)" 100x75

is "a prefix purge: 201" "$(purge "${key[@]}" -d '{"url": "http://'$host'/media/photos/*"}')" 201
ok "completes" wait_until 30 completed "$(request_id)"
is "photos/b.jpg: the new version" "$(get /media/tr:w-100/photos/b.jpg)" 100x40
is "other/c.jpg, outside the prefix, stays cached" "$(get /media/tr:w-100/other/c.jpg)" 100x75

is "the status of an unknown ID: 404" \
    "$(status "$HTTPD_URL/v1/files/purge/0123456789abcdef0123456789abcdef" "${key[@]}")" 404
is "the status without the key: 401" "$(status "$HTTPD_URL/v1/files/purge/$id")" 401
is "a body that is no JSON: 400" "$(purge "${key[@]}" -d 'url=x')" 400
is "JSON without url: 400" "$(purge "${key[@]}" -d '{"uri": "x"}')" 400
is "a url no endpoint serves: 400" "$(purge "${key[@]}" -d '{"url": "http://'$host'/nope/a.jpg"}')" 400
is "a url that is no URL: 400" "$(purge "${key[@]}" -d '{"url": "photos/a.jpg"}')" 400
is "a path with ..: 400" "$(purge "${key[@]}" -d '{"url": "http://'$host'/media/../a.jpg"}')" 400
head -c 5000 /dev/zero | tr '\0' a >"$T/big"
is "a body over 4 KiB: 413" "$(purge "${key[@]}" --data-binary @"$T/big")" 413
is "PUT: 405" "$(status "$HTTPD_URL/v1/files/purge" -X PUT "${key[@]}")" 405
is "the server lives on" "$(status "$HTTPD_URL/healthz")" 200
ok "no purge failed" eval "! grep -q 'purge.*failed' '$HTTPD_LOG'"
is "the metrics count the two purges" \
    "$(curl -s "$HTTPD_URL/metrics" | grep '^blobkit_purges_total')" \
    'blobkit_purges_total{result="completed"} 2' 

# A peer that accepts the connection and never answers: Pending, until it goes: Failed.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); c, _ = s.accept(); time.sleep(120)' >"$T/peer.port" &
peer=$!
at_exit "kill $peer 2>/dev/null"
wait_until 10 test -s "$T/peer.port"
httpd_stop
httpd_start --public-endpoint "/media=$mnt" --sign-key-file "$T/key" \
    --blobfs-control "$sock" --peer "http://127.0.0.1:$(cat "$T/peer.port")"
is "with a silent peer: 201" "$(purge "${key[@]}" -d "$body")" 201
id=$(request_id)
is "Pending while the peer has not answered" "$(state "$id")" Pending
kill "$peer"
ok "Failed once it went" wait_until 30 eval '[ "$(state "$id")" = Failed ]'
