#!/usr/bin/env bash
# blobkit-url prints, byte for byte, the URLs ImageKit's SDKs build (@imagekit/nodejs 7's
# buildSrc in both positions, the legacy imagekit 6's url in the path position) over a table
# of odd paths (spaces, unicode, ? # % + @@, dot segments, tabs), chains, unsigned, signed and
# expiring, the SDKs' clock fixed (tests/node/ik-build.mjs); --expire is checked against the
# SDKs at the time it took; bad input gets a clear error and status 2 (1 for a bad PATH).
set -eu
. "$(dirname "$0")/lib.sh"

url() { "$BIN/blobkit-url" "$@"; }
now=1767225600 expire=300
printf 'private_test\n' >"$T/key"

# compare ENDPOINT: every case of the table, one blobkit-url run per chain, position and
# signing, all paths at once.
compare() {
    local endpoint=$1 f i j n=0 bad6=0 bad7=0 args
    local -a rec=() paths=() v7=() v6=() got=()
    while IFS= read -r -d '' f; do rec+=("$f"); done < <(
        node "$ROOT/tests/node/ik-build.mjs" "$endpoint" private_test "$now" "$expire")
    for ((i = 0; i < ${#rec[@]}; i += 6)); do
        # One group: the records of the same chain, position and signing.
        local key="${rec[i + 1]}|${rec[i + 2]}|${rec[i + 3]}"
        [ -z "${seen[$key]:-}" ] || continue
        seen[$key]=1 paths=() v7=() v6=()
        for ((j = i; j < ${#rec[@]}; j += 6)); do
            [ "${rec[j + 1]}|${rec[j + 2]}|${rec[j + 3]}" = "$key" ] || continue
            paths+=("${rec[j]}") v7+=("${rec[j + 4]}") v6+=("${rec[j + 5]}")
        done
        args=(--endpoint "$endpoint" --position "${rec[i + 2]}")
        [ -z "${rec[i + 1]}" ] || args+=(--tr "${rec[i + 1]}")
        [ "${rec[i + 3]}" = - ] || args+=(--key-file "$T/key")
        [ "${rec[i + 3]}" != exp ] || args+=(--expires-at $((now + expire)))
        mapfile -t got < <(url "${args[@]}" -- "${paths[@]}")
        for ((j = 0; j < ${#paths[@]}; j++)); do
            n=$((n + 1))
            if [ "${got[j]:-}" != "${v7[j]}" ]; then
                bad7=$((bad7 + 1))
                echo "# ${args[*]} $(printf %q "${paths[j]}")"
                echo "#   got: ${got[j]:-}"
                echo "#   v7:  ${v7[j]}"
            fi
            [ "${v6[j]}" = - ] || [ "${got[j]:-}" = "${v6[j]}" ] || {
                bad6=$((bad6 + 1)); echo "#   v6:  ${v6[j]} (${args[*]} ${paths[j]})"; }
        done
    done
    ok "$endpoint: the table has cases ($n)" [ "$n" -ge 300 ]
    is "$endpoint: as @imagekit/nodejs 7's buildSrc" "$bad7" 0
    is "$endpoint: as imagekit 6's url (path position)" "$bad6" 0
}
declare -A seen=()
compare https://ik.example.com/demo
seen=()
compare http://127.0.0.1:8080/
seen=()
compare https://ik.example.com

# --expire: ik-t is the time of the run plus SECONDS, and the URL the SDKs build at that time.
before=$(date +%s)
got=$(url --endpoint https://ik.example.com/demo --tr w-300 --key-file "$T/key" --expire 600 \
    "/a cat.jpg")
after=$(date +%s)
t=$(echo "$got" | sed -n 's/.*[?&]ik-t=\([0-9]*\).*/\1/p')
ok "--expire 600: ik-t is now + 600" eval \
    '[ "${t:-0}" -ge $((before + 600)) ] && [ "${t:-0}" -le $((after + 600)) ]'
want=$(cd "$ROOT" && node --input-type=module -e '
    import ImageKit7 from "@imagekit/nodejs";
    Date.now = () => Number(process.argv[1]) * 1000;
    const RealDate = Date;
    globalThis.Date = class extends RealDate {
        constructor(...a) { super(...(a.length ? a : [RealDate.now()])); } };
    console.log(new ImageKit7({ privateKey: "private_test" }).helper.buildSrc({
        urlEndpoint: "https://ik.example.com/demo", src: "/a cat.jpg",
        transformation: [{ raw: "w-300" }], signed: true, expiresIn: 600 }));' $((t - 600)))
is "--expire: as the SDK at that time" "$got" "$want"

# Bad input: a clear error, never a URL.
fails "a '..' out of the path" url --endpoint https://ik.example.com/demo --position path \
    --tr w-300 /../x.jpg 2>"$T/err"
ok "says so" grep -q "climbs out of the path" "$T/err"
fails "a path that is not UTF-8" url --endpoint https://ik.example.com/demo $'/\xff.jpg' 2>"$T/err"
ok "says so" grep -q "not UTF-8" "$T/err"
url --endpoint https://ik.example.com/demo /ok.jpg /../no.jpg /ok2.jpg >"$T/out" 2>/dev/null &&
    rc=0 || rc=$?
is "the other paths are still printed, status 1" "$rc $(wc -l <"$T/out")" "1 2"
for e in HTTPS://ik.example.com ftp://x/y https://IK.example.com https://ik.example.com:443/d \
    'https://ik.example.com/a b' https://ik.example.com/a//b https://ik.example.com/a/../b \
    'https://ik.example.com/d?x=1' https://0x7f.1/ https://user@host/; do
    url --endpoint "$e" /a.jpg >/dev/null 2>"$T/err" && rc=0 || rc=$?
    ok "endpoint $e: refused, status 2" eval '[ "$rc" = 2 ] && grep -q "endpoint '"'"'" "$T/err"'
done
for c in 'w-300 h' 'w-300::rt-90' ':w-300' 'w-300&x=1' 'w-300/x' 'w-300?x' $'w-\xc3\xa9'; do
    url --endpoint https://ik.example.com/d --tr "$c" /a.jpg >/dev/null 2>"$T/err" && rc=0 || rc=$?
    ok "chain '$c': refused, status 2" eval '[ "$rc" = 2 ] && grep -q "^blobkit-url: --tr: " "$T/err"'
done
fails "--expire needs a key" url --endpoint https://ik.example.com/d --expire 60 /a.jpg 2>"$T/err"
ok "says so" grep -q "needs --key-file" "$T/err"
fails "--expire 0" url --endpoint https://ik.example.com/d --key-file "$T/key" --expire 0 /a 2>/dev/null
fails "--position side" url --endpoint https://ik.example.com/d --position side /a 2>/dev/null
fails "no endpoint" url /a.jpg 2>/dev/null
fails "no path" url --endpoint https://ik.example.com/d 2>/dev/null
: >"$T/empty"
fails "an empty key file" url --endpoint https://ik.example.com/d --key-file "$T/empty" /a 2>"$T/err"
ok "says so" grep -q "cannot read key file .*: empty" "$T/err"
ok "--version" eval "url --version | grep -q '^blobkit-url '"
