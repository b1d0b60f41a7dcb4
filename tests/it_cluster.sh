#!/usr/bin/env bash
# scripts/cluster.sh: three nodes (blobfs + blobhttpd each, the sanitizer build) behind the
# Varnish cache tier, on one Azurite container. Routing: sources spread ~1/N over the nodes,
# one source's variants on one node, a HIT the second time, ≤ 1.5/N of sources moved when a
# node is added or removed. Cache keys: WebP only to clients that take it, Accept classes no
# wider than blobhttpd's. Signed URLs: unsigned, tampered, expired → 401 with a signed copy
# cached. 50 identical misses → one request to the nodes; a node's 503 is not retried; an
# overwritten blob shows within --attr-timeout plus --front-ttl; a node killed under load
# costs no more errors than requests in flight; HTTPS through a throwaway CA, HTTP/2. Bans
# (the purge's way into the cache): only from node addresses, per source or prefix.
# run alone: it kills a node under load and counts the errors (tests/run.sh)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"

azurite_start
src=$T/src
mkdir -p "$src/dist" "$src/photos" "$src/fresh"
for i in $(seq -w 1 300); do echo "file $i" >"$src/dist/f$i.txt"; done
photo "$src/photos/cat.jpg" 600 400
photo "$src/photos/dog.jpg" 400 300
echo "version 1" >"$src/fresh/note.txt"
az container media >/dev/null
az upload media "$src" >/dev/null
printf 'private_%s\n' "$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')" >"$T/key"
chmod 600 "$T/key"

# A throwaway CA and a certificate for 127.0.0.1 signed by it.
tls=$T/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=blobkit-test-ca \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$tls/front.key" \
    -out "$tls/front.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/ext"
openssl x509 -req -in "$tls/front.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 1 -extfile "$tls/ext" -out "$tls/front.crt" 2>/dev/null

C=$T/cluster
at_exit "'$ROOT/scripts/cluster.sh' down --dir '$C'"
AZURE_STORAGE_BLOB_ENDPOINT=$AZ_ENDPOINT AZURE_STORAGE_ACCOUNT_CONTAINER=media \
AZURE_STORAGE_SAS_TOKEN=$(az sas service rl media) BLOBKIT_BIN=$BIN \
    "$ROOT/scripts/cluster.sh" up --nodes 3 --dir "$C" --port 0 --tls-cert "$tls/front.crt" \
    --tls-key "$tls/front.key" --tls-port 0 --attr-timeout 2 --front-ttl 20 -- \
    --public-endpoint /demo=@MOUNT --endpoint /private=@MOUNT --sign-key-file "$T/key" \
    --workers 2 --queue 2 >"$T/up.out"
F=$(sed -n 's/^FRONT=//p' "$T/up.out")
FT=$(sed -n 's/^FRONT_TLS=//p' "$T/up.out")

# ---- the cluster as started -----------------------------------------------------------------
is "nodes.tsv: three lines of six fields" \
    "$(awk -F'\t' 'NF == 6' "$C/nodes.tsv" | wc -l)" 3
all_up() {
    local k addr port hp fp mnt
    while IFS=$'\t' read -r k addr port hp fp mnt; do
        [ "$addr" = "127.0.0.$((k + 1))" ] && kill -0 "$hp" && kill -0 "$fp" &&
            mountpoint -q "$mnt" && curl -sf -o /dev/null "http://$addr:$port/healthz" || return 1
    done <"$C/nodes.tsv"
}
ok "each node: its address, blobhttpd and blobfs running, mounted, healthy" all_up
ok "front.pid is varnishd's" grep -q varnishd "/proc/$(cat "$C/front.pid")/cmdline"
ok "FRONT is http://127.0.0.1:PORT" eval '[[ "$F" =~ ^http://127\.0\.0\.1:[0-9]+$ ]]'
cluster_pids() {
    cut -f4,5 "$C/nodes.tsv" | tr '\t' '\n'
    echo "$(cat "$C/front.pid")"
    echo "$(cat "$C/front/hitch.pid")"
}
sas_in_args() {
    for p in $(cluster_pids); do tr '\0' ' ' <"/proc/$p/cmdline" | grep -q 'sig=' && return 0; done
    return 1
}
ok "the cluster's processes: $(cluster_pids | wc -l)" test "$(cluster_pids | wc -l)" = 8
fails "no SAS signature on any of their command lines" sas_in_args

# get URL [CURL ARGS]: status; headers in $T/h, body in $T/b.
get() { local u=$1; shift; curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$u"; }
upstream() { header X-Upstream "$T/h"; }
cache() { header X-Cache-Status "$T/h"; }
node_of() { awk -F'\t' -v u="$1" '$1 == u { print $3 }' "$2"; }

# ---- routing: spread, sticky, HIT ----------------------------------------------------------
for i in $(seq -w 1 300); do echo "/demo/dist/f$i.txt"; done >"$T/dist.urls"
load() { node "$ROOT/tests/cluster/load.mjs" "$F" "$@"; }
load "$T/dist.urls" --concurrency 8 >"$T/r1"
is "300 distinct URLs: all 200" "$(awk '$2 == 200' "$T/r1" | wc -l)" 300
for n in node1 node2 node3; do
    c=$(awk -v n=$n '$3 == n' "$T/r1" | wc -l)
    ok "$n serves about a third of the sources ($c of 300)" test "$c" -ge 60 -a "$c" -le 140
done
load "$T/dist.urls" --concurrency 8 >"$T/r2"
is "the same 300 URLs again: all HIT" "$(awk '$4 == "HIT"' "$T/r2" | wc -l)" 300
is "each on the node it came from" \
    "$(sort "$T/r1" | cut -f1,3 | md5sum)" "$(sort "$T/r2" | cut -f1,3 | md5sum)"
get "$F/demo/photos/cat.jpg?tr=orig-true" >/dev/null
home=$(upstream)
same=1
for u in "tr:w-100/photos/cat.jpg" "photos/cat.jpg?tr=h-90" "tr:w-100/photos/cat.jpg?tr=rt-90" \
         "photos/cat.jpg"; do
    get "$F/demo/$u" >/dev/null
    [ "$(upstream)" = "$home" ] || { same=0; echo "# $u went to $(upstream), not $home"; }
done
is "every variant of one source is made on one node ($home)" $same 1

# ---- Accept and client hints: never a wrong variant, classes no wider -----------------------
u="$F/demo/tr:w-120/photos/cat.jpg"
get "$u" -H 'Accept: image/webp,*/*' >/dev/null
is "WebP client, first: WebP" "$(header Content-Type "$T/h")" image/webp
get "$u" -H 'Accept: image/png,*/*;q=0.8' >/dev/null
is "a client without image/webp, WebP cached: JPEG" "$(header Content-Type "$T/h")" image/jpeg
get "$u" -H 'Accept: image/webp;q=0,*/*' >/dev/null
is "image/webp;q=0 refuses WebP" "$(header Content-Type "$T/h")" image/jpeg
get "$u" >/dev/null
is "no Accept at all: JPEG" "$(header Content-Type "$T/h")" image/jpeg
is "... from the JPEG class's cached copy (classes are no wider)" "$(cache)" HIT
get "$u" -H 'Accept: text/html, IMAGE/WEBP;q=0.5' >/dev/null
is "another spelling that takes WebP: WebP" "$(header Content-Type "$T/h")" image/webp
is "... from the WebP class's cached copy" "$(cache)" HIT
u2="$F/demo/tr:w-130/photos/cat.jpg"
get "$u2" -H 'Accept: */*' >/dev/null
is "JPEG cached first" "$(header Content-Type "$T/h")" image/jpeg
get "$u2" -H 'Accept: image/avif,image/webp' >/dev/null
is "then a WebP client: WebP" "$(header Content-Type "$T/h")" image/webp
get "$u2" -H 'Accept: image/webpx,image/*' >/dev/null
is "image/webpx is not image/webp" "$(header Content-Type "$T/h")" image/jpeg
u3="$F/demo/tr:w-auto/photos/cat.jpg"
get "$u3" -H 'Sec-CH-Width: 200' >/dev/null
is "w-auto, Sec-CH-Width 200" "$(vipsheader -f width "$T/b")" 200
get "$u3" -H 'Sec-CH-Width: 350' >/dev/null
is "w-auto, Sec-CH-Width 350: its own variant (rounded up to 400)" \
    "$(vipsheader -f width "$T/b")" 400
get "$u3" -H 'Sec-CH-Width: 0200' >/dev/null
is "Sec-CH-Width 0200 is 200's cached copy" "$(cache) $(vipsheader -f width "$T/b")" "HIT 200"

# ---- bans, the way a purge will reach the cache ----------------------------------------------
ban() { # FROM_ADDRESS KEY
    curl -s -o /dev/null -w '%{http_code}' -X BAN --interface "$1" -H "X-Blobkit-Ban: $2" "$F/"
}
for v in "tr:w-140/photos/cat.jpg" "photos/cat.jpg?tr=w-150" "tr:w-140/photos/dog.jpg" \
         dist/f001.txt dist/f010.txt; do
    get "$F/demo/$v" >/dev/null; get "$F/demo/$v" >/dev/null
done
is "BAN from an address that is no node: 403" "$(ban 127.0.0.1 127.0.0.1/demo/photos/cat.jpg)" 403
is "BAN of one source from a node's address: 200" \
    "$(ban 127.0.0.2 127.0.0.1/demo/photos/cat.jpg)" 200
is "... its variants are gone" "$(get "$F/demo/tr:w-140/photos/cat.jpg"; cache) $(
    get "$F/demo/photos/cat.jpg?tr=w-150"; cache)" "200MISS 200MISS"
# A banned object is gone: MISS. One that is kept is a HIT, or REVALIDATED once older than
# --front-ttl (a slow box): either way its copy was still there.
kept() { get "$1" >/dev/null; [[ "$(cache)" =~ ^(HIT|REVALIDATED)$ ]]; }
ok "... another source's are not" kept "$F/demo/tr:w-140/photos/dog.jpg"
is "BAN of a prefix" "$(ban 127.0.0.3 '127.0.0.1/demo/dist/f00*')" 200
is "... drops what it covers" "$(get "$F/demo/dist/f001.txt"; cache)" 200MISS
ok "... and keeps the rest" kept "$F/demo/dist/f010.txt"

# ---- signed URLs ---------------------------------------------------------------------------
sign() { node "$ROOT/tests/node/imagekit.mjs" sign "$F/private" "$T/key" "$@"; }
s=$(sign /photos/dog.jpg w-80 3600)
is "signed: 200" "$(get "$s")" 200
is "signed again: a HIT" "$(get "$s") $(cache)" "200 HIT"
is "unsigned, signed copy cached: 401" "$(get "$F/private/photos/dog.jpg?tr=w-80")" 401
sig=$(echo "$s" | sed -E 's/.*ik-s=([0-9a-f]+).*/\1/')
flip=$([ "${sig:0:1}" = a ] && echo b || echo a)
bad=${s/ik-s=$sig/ik-s=$flip${sig:1}}
is "tampered signature: 401" "$(get "$bad")" 401
bad=$(echo "$s" | sed -E 's/(ik-t=[0-9]*)[0-9]/\10/')
[ "$bad" != "$s" ] || bad=$(echo "$s" | sed -E 's/(ik-t=[0-9]*)[0-9]/\11/')
is "ik-t changed, same signature: 401" "$(get "$bad")" 401
s=$(sign /photos/dog.jpg w-90 3)
ikt=$(echo "$s" | sed -E 's/.*ik-t=([0-9]+).*/\1/')
is "short-lived signed: 200" "$(get "$s")" 200
is "... cached before its ik-t" "$(get "$s") $(cache)" "200 HIT"
wait_until 10 eval '[ "$(date +%s)" -gt "$ikt" ]'
is "... past its ik-t: 401, not the cached copy (front TTL 20 s)" "$(get "$s")" 401

# ---- single flight and 503 -----------------------------------------------------------------
# node_lines ERE: the nodes' access-log lines whose request line matches.
node_lines() { cat "$C"/node*/access.log | grep -E "\"GET $1 HTTP" || true; }
# A node writes its access-log line once the response is sent, so the client may be done
# first: wait until at least N lines match ERE $1, then the checks count them exactly.
at_least() { [ "$(node_lines "$1" | wc -l)" -ge "$2" ]; }
logged() { wait_until 10 at_least "$1" "$2" || true; }
p=/demo/tr:w-77,h-77/photos/cat.jpg
for i in $(seq 50); do echo "url = \"$F$p\""; echo "output = /dev/null"; done >"$T/50.cfg"
curl -s -Z --parallel-max 50 -K "$T/50.cfg" -w '%{http_code}\n' >"$T/50.out" 2>/dev/null
is "50 identical concurrent misses: 50 × 200" "$(grep -c '^200$' "$T/50.out")" 50
logged "$p" 1
is "... one request reached the nodes: one transform in the cluster" \
    "$(node_lines "$p" | wc -l)" 1

for i in $(seq 24); do echo "url = \"$F/demo/tr:w-$((300 + i))/photos/dog.jpg\""; \
    echo "output = /dev/null"; done >"$T/busy.cfg"
curl -s -Z --parallel-max 24 -K "$T/busy.cfg" -w '%{http_code} %{url_effective}\n' \
    >"$T/busy.out" 2>/dev/null
n503=$(grep -c '^503 ' "$T/busy.out" || true)
ok "24 distinct misses on nodes with 2 workers and a queue of 2: some 503 ($n503)" \
    test "$n503" -ge 1
busy='/demo/tr:w-3[0-9][0-9]/photos/dog.jpg'
logged "$busy" 24
is "... the nodes saw exactly 24 requests (a 503 is not retried elsewhere)" \
    "$(node_lines "$busy" | wc -l)" 24
is "... and answered exactly the 503s the clients got" \
    "$(node_lines "$busy" | grep -c '" 503 ' || true)" "$n503"
get "$(sed -n 's/^503 //p' "$T/busy.out" | head -n 1)" >/dev/null
is "a 503 is not cached: that URL asked again is a MISS" "$(cache)" MISS

# A blob cached at the front, then overwritten; checked below, once node changes are done.
get "$F/demo/fresh/note.txt" >/dev/null
is "a blob cached at the front" "$(get "$F/demo/fresh/note.txt") $(cat "$T/b")" "200 version 1"
echo "version 2" | az put media fresh/note.txt - >/dev/null

# ---- adding and removing a node moves only its share ---------------------------------------
"$ROOT/scripts/cluster.sh" add-node --dir "$C" >"$T/add.out"
is "add-node: node 4 on 127.0.0.5" "$(awk -F'\t' '$1 == 4 { print $2 }' "$C/nodes.tsv")" 127.0.0.5
load "$T/dist.urls" --concurrency 8 --bust a >"$T/r3"
moved=$(join -t$'\t' <(cut -f1,3 "$T/r1" | sort) <(cut -f1,3 "$T/r3" | sort) |
    awk -F'\t' '$2 != $3' | wc -l)
ok "node added: $moved of 300 sources moved (at most 1.5/4: 112)" \
    test "$moved" -le 112 -a "$moved" -ge 1
is "... every one of them to the new node" \
    "$(join -t$'\t' <(cut -f1,3 "$T/r1" | sort) <(cut -f1,3 "$T/r3" | sort) |
       awk -F'\t' '$2 != $3 && $3 != "node4"' | wc -l)" 0
"$ROOT/scripts/cluster.sh" remove-node --dir "$C" --index 4
load "$T/dist.urls" --concurrency 8 --bust b >"$T/r4"
is "node removed: every source back where it was" \
    "$(sort "$T/r1" | cut -f1,3 | md5sum)" "$(sort "$T/r4" | cut -f1,3 | md5sum)"
ok "... and node 4 is stopped and unmounted" eval "! mountpoint -q '$C/node4/mnt'"

# ---- an overwritten blob (overwritten before the node changes above) ------------------------
fresh() { [ "$(get "$F/demo/fresh/note.txt")" = 200 ] && [ "$(cat "$T/b")" = "version 2" ]; }
ok "an overwritten blob shows within --attr-timeout + --front-ttl (2 + 20 s)" wait_until 40 fresh

# ---- HTTPS ---------------------------------------------------------------------------------
code=$(curl -s --cacert "$tls/ca.crt" -o "$T/tls.b" -w '%{http_code} %{http_version}' \
    "$FT/demo/dist/f001.txt")
is "HTTPS: chain verified against the test's CA, HTTP/2" "$code" "200 2"
ok "... the same bytes as over HTTP" cmp "$T/tls.b" "$src/dist/f001.txt"
is "HTTPS with HTTP/1.1" "$(curl -s --cacert "$tls/ca.crt" --http1.1 -o /dev/null \
    -w '%{http_code} %{http_version}' "$FT/demo/dist/f002.txt")" "200 1.1"
curl -s --cacert "$tls/ca.crt" -o "$T/tls.w" -H 'Accept: image/webp' \
    "$FT/demo/tr:w-120/photos/cat.jpg"
get "$u" -H 'Accept: image/webp' >/dev/null
ok "HTTPS: the same WebP variant as over HTTP" cmp "$T/tls.w" "$T/b"
fails "a client without the CA refuses the certificate" curl -sf -o /dev/null "$FT/healthz"

# ---- SIGKILL of a node under load ----------------------------------------------------------
victim=$(awk -F'\t' '$1 == 2 { print $4 }' "$C/nodes.tsv")
load "$T/dist.urls" --repeat 8 --concurrency 12 --bust k --progress "$T/progress" >"$T/r5" &
lp=$!
progressed() { local n; n=$(cat "$T/progress" 2>/dev/null || true); [ "${n:-0}" -ge 300 ]; }
wait_until 60 progressed
kill -KILL "$victim"
wait "$lp"
errs=$(awk '$2 != 200' "$T/r5" | wc -l)
is "load: 2400 requests answered" "$(wc -l <"$T/r5")" 2400
ok "node 2 killed under load: $errs errors, at most the 12 in flight" test "$errs" -le 12
gone() {
    load "$T/dist.urls" --concurrency 8 --bust g >"$T/r6"
    [ "$(awk '$2 == 200 && $3 != "node2"' "$T/r6" | wc -l)" = 300 ]
}
ok "... its sources moved: all 300 served by the other nodes" wait_until 20 gone
is "... and only its sources moved" \
    "$(join -t$'\t' <(cut -f1,3 "$T/r1" | sort) <(cut -f1,3 "$T/r6" | sort) |
       awk -F'\t' '$2 != $3 && $2 != "node2"' | wc -l)" 0

# ---- down ----------------------------------------------------------------------------------
"$ROOT/scripts/cluster.sh" down --dir "$C"
left() {
    local k addr port hp fp mnt
    for p in $(cat "$C/front.pid" 2>/dev/null); do kill -0 "$p" 2>/dev/null && return 0; done
    grep -qs " $C/" /proc/mounts && return 0
    pgrep -f "$C/" >/dev/null
}
fails "down: nothing of the cluster left running or mounted" left
