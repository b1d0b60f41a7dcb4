#!/usr/bin/env bash
# Video through blobhttpd on a real blobfs mount of Azurite (docs/video.md): every URL form
# (ik-thumbnail.jpg, tr: and ?tr= on a video, f-auto, ik-gif-video.mp4 and f-mp4 on a GIF,
# ik-video.mp4 on an extensionless file, HLS and DASH with every rendition read by ffprobe
# through the server's URLs), Range/HEAD/304 on derived videos, single flight, a changed
# source, limits and bad inputs (a clear 4xx, nothing left in the cache, the server up),
# signed URLs made by ImageKit's SDKs (a signed master's playlists and segments included), the
# 302/202-then-200 sequence with --video-wait 0, the disk cache surviving a restart, and jobs
# stopped cleanly by SIGTERM or left by a crash and cleaned at the next start.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"
. "$ROOT/tests/metrics_lib.sh"

mk="$ROOT/build/rel/tools/vid_mkclip"
[ -x "$mk" ] || mk="$ROOT/build/san/tools/vid_mkclip"

# ---- Clips (tests/vid_clip.c: each frame shows its index), bad inputs, an image --------------
SRC=$T/src
mkdir -p "$SRC/video" "$SRC/raw" "$SRC/bad" "$SRC/photos"
"$mk" "$SRC/video/clip.mp4" gop=12 >/dev/null                     # 320x240, 2 s, H.264 + AAC
"$mk" "$SRC/video/h480.mp4" size=640x480 frames=25 gop=12 >/dev/null
"$mk" "$SRC/video/long.mp4" size=640x480 frames=200 gop=25 >/dev/null
"$mk" "$SRC/video/short.mp4" frames=20 gop=10 >/dev/null           # 0.8 s
"$mk" "$SRC/video/anim.gif" format=gif v=gif a=none size=160x120 >/dev/null
"$mk" "$SRC/video/change.mp4" gop=12 >/dev/null
cp "$SRC/video/clip.mp4" "$SRC/raw/clip"
{ cat "$SRC/video/clip.mp4"; head -c 1200000 /dev/zero; } >"$SRC/video/big.mp4" # over 1 MiB
: >"$SRC/bad/empty.mp4"
printf 'this is not a video, whatever its name says\n' >"$SRC/bad/text.mp4"
head -c 20000 "$SRC/video/clip.mp4" >"$SRC/bad/cut.mp4"
"$mk" "$SRC/bad/audio.m4a" v=none >/dev/null
printf '\0\0\0\x18ftypisom\0\0\0\0isommp41\x7f\xff\xff\xffmoov\0\0\0\x6cmvhd' >"$SRC/bad/atom.mp4"
{ printf '\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08'
  printf '\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02\x18\x53\x80\x67\x01\xff\xff\xff\xff'
  printf '\xff\xff\xff'; head -c 4096 /dev/urandom; } >"$SRC/bad/junk.webm"
photo "$SRC/photos/cat.jpg" 300 200

azurite_start
az container media >/dev/null
az upload media "$SRC" >/dev/null
M=$T/mnt/media
blobfs_mount media "$M" --attr-timeout 1
KEY=$T/ik.key
printf 'private_video_test' >"$KEY"
VC=$T/vcache
start() { # the server on the mount, the video cache in $VC
    httpd_start --endpoint "/v=$M" --public-endpoint "/pub=$M" --sign-key-file "$KEY" \
        --video-cache-dir "$VC" --max-video-mb 1 "$@"
    U=$HTTPD_URL/pub # unsigned URLs
    S=$HTTPD_URL/v   # signed only
}
start --video-wait 60
D=$T/dl
mkdir -p "$D"

# get URL [CURL ARGS]: the status; body in $D/b, headers in $D/h.
get() { local url=$1; shift; curl -s -o "$D/b" -D "$D/h" -w '%{http_code}' "$@" "$url"; }
media() { # "CODEC,W,H AUDIO" of the first video and audio stream ffprobe reads at $1
    ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of compact=p=0 \
        "$1" | awk -F'[|=]' '$3 == "codec_type" && $4 == "video" && !v { v = $2 "," $6 "," $8 }
            $3 == "codec_type" && $4 == "audio" && !a { a = $2 }
            END { printf "%s %s\n", v ? v : "none", a ? a : "none" }'
}
started() { grep -c "video job .*: $1 started" "$HTTPD_LOG" || true; }
res_count() { find "$VC/res" -mindepth 1 -maxdepth 1 | wc -l; }
tmp_empty() { [ -z "$(ls -A "$VC/tmp")" ]; }

# ---- Thumbnails -------------------------------------------------------------------------------
is "ik-thumbnail.jpg: 200" "$(get "$U/video/clip.mp4/ik-thumbnail.jpg")" 200
is "  a JPEG of the first frame, 320x240" \
    "$(header Content-Type "$D/h") $(dims "$D/b") $("$mk" --frame "$D/b" | cut -d' ' -f1-2)" \
    "image/jpeg 320x240 0 upright"
is "?tr=so-1.2,w-160: the frame at 1.2 s, resized" \
    "$(get "$U/video/clip.mp4/ik-thumbnail.jpg?tr=so-1.2,w-160") $(dims "$D/b") $("$mk" --frame "$D/b" | cut -d' ' -f1)" \
    "200 160x120 30"
is "the path form: tr:so-1.2,w-160/.../ik-thumbnail.jpg is the same thumbnail" \
    "$(get "$HTTPD_URL/pub/tr:w-160,so-1.2/video/clip.mp4/ik-thumbnail.jpg") $(started "thumbnail of video/clip.mp4")" \
    "200 2"
is "f-auto: WebP for an Accept that takes it, Vary: Accept" \
    "$(get "$U/video/clip.mp4/ik-thumbnail.jpg?tr=w-100" -H 'Accept: image/webp') $(header Content-Type "$D/h") $(header Vary "$D/h") $(dims "$D/b")" \
    "200 image/webp Accept 100x75"

# ---- Transcodes: path and query form, f-auto, GIF, extensionless -----------------------------
is "tr:w-160/VIDEO: an H.264 MP4 160x120 with its audio" \
    "$(get "$HTTPD_URL/pub/tr:w-160/video/clip.mp4") $(header Content-Type "$D/h") $(media "$D/b")" \
    "200 video/mp4 h264,160,120 aac"
etag=$(header ETag "$D/h")
ok "  a strong ETag" grep -qE '^"[0-9a-f]{32}"$' <<<"$etag"
is "  Vary: Accept, User-Agent (f-auto)" "$(header Vary "$D/h")" "Accept, User-Agent"
cp "$D/b" "$D/w160.mp4"
is "?tr=f-webm,w-160: VP9 and Opus in WebM" \
    "$(get "$U/video/clip.mp4?tr=f-webm,w-160") $(header Content-Type "$D/h") $(media "$D/b") $(header Vary "$D/h")" \
    "200 video/webm vp9,160,120 opus "
CHROME='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
is "f-auto for Chromium's User-Agent: WebM" \
    "$(get "$U/video/clip.mp4?tr=w-96" -A "$CHROME") $(header Content-Type "$D/h")" "200 video/webm"
is "f-auto for curl: MP4" "$(get "$U/video/clip.mp4?tr=w-96") $(header Content-Type "$D/h")" \
    "200 video/mp4"
is "vc-none: the audio alone" "$(get "$U/video/clip.mp4?tr=vc-none") $(header Content-Type "$D/h") $(media "$D/b")" \
    "200 audio/mp4 none aac"
is "GIF/ik-gif-video.mp4: an MP4 of its frames" \
    "$(get "$U/video/anim.gif/ik-gif-video.mp4") $(header Content-Type "$D/h") $(media "$D/b")" \
    "200 video/mp4 h264,160,120 none"
is "f-mp4 on an animated GIF" "$(get "$U/video/anim.gif?tr=f-mp4,w-80") $(media "$D/b")" \
    "200 h264,80,60 none"
is "the GIF without f-mp4 is still an image" \
    "$(get "$U/video/anim.gif?tr=w-80") $(header Content-Type "$D/h")" "200 image/gif"
is "FILE/ik-video.mp4: the extensionless file as it is, typed as video" \
    "$(get "$U/raw/clip/ik-video.mp4") $(header Content-Type "$D/h") $(sha "$D/b")" \
    "200 video/mp4 $(sha "$SRC/raw/clip")"
is "FILE/ik-video.mp4?tr=w-160" "$(get "$U/raw/clip/ik-video.mp4?tr=w-160") $(media "$D/b")" \
    "200 h264,160,120 aac"
is "FILE/ik-video.mp4/ik-thumbnail.jpg" \
    "$(get "$U/raw/clip/ik-video.mp4/ik-thumbnail.jpg") $(dims "$D/b")" "200 320x240"
is "FILE without ik-video.mp4: a video all the same, by its first bytes" \
    "$(get "$U/raw/clip?tr=w-160") $(media "$D/b")" "200 h264,160,120 aac"
is "  and as it is without a chain" "$(get "$U/raw/clip") $(sha "$D/b")" "200 $(sha "$SRC/raw/clip")"
is "a video without a chain is the original" \
    "$(get "$U/video/clip.mp4") $(sha "$D/b")" "200 $(sha "$SRC/video/clip.mp4")"

# ---- Range, HEAD, 304 on a derived video ------------------------------------------------------
W=$HTTPD_URL/pub/tr:w-160/video/clip.mp4
is "Range: 206 with the first 100 bytes" "$(get "$W" -r 0-99) $(stat -c %s "$D/b")" "206 100"
is "  those of the whole" "$(sha "$D/b")" "$(head -c 100 "$D/w160.mp4" | sha256sum | cut -d' ' -f1)"
is "  Content-Range" "$(header Content-Range "$D/h")" "bytes 0-99/$(stat -c %s "$D/w160.mp4")"
is "HEAD: 200, the size, the ETag" \
    "$(get "$W" -I) $(header Content-Length "$D/h") $(header ETag "$D/h")" \
    "200 $(stat -c %s "$D/w160.mp4") $etag"
is "If-None-Match: 304" "$(get "$W" -H "If-None-Match: $etag")" 304
is "Range past the end: 416" "$(get "$W" -r 99999999-)" 416

# ---- Single flight: identical requests, one job ----------------------------------------------
before=$(started "video of video/clip.mp4")
scrape "$HTTPD_URL/metrics" m1 || true
pids=()
for i in 1 2 3 4 5; do
    curl -s -o "$D/sf.$i" -w '%{http_code}' "$U/video/clip.mp4?tr=w-112,q-60" >"$D/sf.$i.code" &
    pids+=($!)
done
wait "${pids[@]}"
is "five identical requests: five 200s" "$(cat "$D"/sf.*.code | tr -d '\n')" 200200200200200
is "  the same bytes" "$(sha256sum "$D"/sf.? | cut -d' ' -f1 | sort -u | wc -l)" 1
is "  one job (log)" "$(($(started "video of video/clip.mp4") - before))" 1
n=$(curl -s "$HTTPD_URL/healthz" | sed -n 's/.*"video_jobs_started":\([0-9]*\).*/\1/p')
is "  /healthz counts the jobs: as many as the log says" "$n" "$(grep -c 'video job .* started' "$HTTPD_LOG")"
get "$U/video/clip.mp4?tr=w-112,q-60" >/dev/null
ok "/metrics parses" scrape "$HTTPD_URL/metrics" m2
is "  one video job done, none failed" \
    "$(moved m1 m2 blobkit_video_jobs_done_total) $(moved m1 m2 blobkit_video_jobs_failed_total)" "1 0"
is "  six requests: as many video cache hits and misses" \
    "$(($(moved m1 m2 blobkit_video_cache_hits_total) + $(moved m1 m2 blobkit_video_cache_misses_total)))" 6
ok "  the sixth at least is a hit" [ "$(moved m1 m2 blobkit_video_cache_hits_total)" -ge 1 ]
ok "  the first at least is a miss" [ "$(moved m1 m2 blobkit_video_cache_misses_total)" -ge 1 ]
is "  no job queued or running now" \
    "$(val m2 blobkit_video_jobs_queued) $(val m2 blobkit_video_jobs_running)" "0 0"
ok "  the disk cache holds results" [ "$(val m2 blobkit_video_cache_entries)" -gt 0 ]

# ---- HLS and DASH: every rendition read by ffprobe through the server ------------------------
H=$U/video/h480.mp4/ik-master.m3u8?tr=sr-240_360_480_720
is "HLS master: 200, its type" "$(get "$H") $(header Content-Type "$D/h")" \
    "200 application/vnd.apple.mpegurl"
variants=$(grep -v '^#' "$D/b" | grep . || true)
is "  three variants (720 is above the source), under the package's own URLs" \
    "$(echo "$variants" | sed 's/[0-9]*p\.m3u8$//' | sort -u)" "ik-hls/sr-240_360_480_720/ik-"
for r in 240p:320,240 360p:480,360 480p:640,480; do
    is "  HLS $r: ffprobe reads it through the server" \
        "$(media "$U/video/h480.mp4/ik-hls/sr-240_360_480_720/ik-${r%%:*}.m3u8")" "h264,${r#*:} aac"
done
is "  ffprobe reads the master" "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$H" | grep -c .)" 6
seg=$(curl -s "$U/video/h480.mp4/ik-hls/sr-240_360_480_720/ik-240p.m3u8" | grep -v '^#' | head -n 1)
is "  a segment: 200 video/mp2t" \
    "$(get "$U/video/h480.mp4/ik-hls/sr-240_360_480_720/$seg") $(header Content-Type "$D/h")" "200 video/mp2t"
is "  a file the package lacks: 404" \
    "$(get "$U/video/h480.mp4/ik-hls/sr-240_360_480_720/ik-999p.m3u8")" 404
is "  a package URL with another chain is its own package" \
    "$(get "$U/video/h480.mp4/ik-hls/sr-240/ik-240p.m3u8") $(media "$U/video/h480.mp4/ik-hls/sr-240/ik-240p.m3u8")" \
    "200 h264,320,240 aac"
is "DASH: ffprobe reads two representations and the audio" \
    "$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 \
        "$U/video/h480.mp4/ik-master.mpd?tr=sr-480_240" | sort -u | grep . | tr '\n' ' ')" \
    "aac h264,320,240 h264,640,480 "
is "a master without sr-: 400 naming sr" \
    "$(get "$U/video/h480.mp4/ik-master.m3u8") $(header ik-error "$D/h" | cut -c1-12)" \
    "400 EINVAL - sr:"
is "w- with sr-: 400 naming w" "$(get "$H,w-100") $(header ik-error "$D/h" | cut -d: -f1)" \
    "400 EINVAL - w"

# ---- Bad input and limits: a clear 4xx, nothing cached, the server up ------------------------
before=$(res_count)
scrape "$HTTPD_URL/metrics" m3 || true
for b in empty.mp4:422 text.mp4:422 cut.mp4:422 audio.m4a:422 atom.mp4:422 junk.webm:422; do
    f=${b%%:*}
    is "bad/$f thumbnail: ${b#*:} EBADMSG" \
        "$(get "$U/bad/$f/ik-thumbnail.jpg") $(header ik-error "$D/h" | cut -d' ' -f1)" \
        "${b#*:} EBADMSG"
done
is "bad/text.mp4 with a chain: 422" "$(get "$U/bad/text.mp4?tr=w-100")" 422
is "bad/cut.mp4 transcoded: 422 (truncated)" "$(get "$U/bad/cut.mp4?tr=w-100")" 422
is "over --max-video-mb: 413 ELIMIT, before any job" \
    "$(get "$U/video/big.mp4?tr=w-100") $(header ik-error "$D/h" | cut -d' ' -f1)" "413 ELIMIT"
is "a video key on an image: 400" "$(get "$U/photos/cat.jpg?tr=so-2")" 400
is "bl- on a video: 400 naming bl" \
    "$(get "$U/video/clip.mp4?tr=bl-5") $(header ik-error "$D/h")" \
    "400 EINVAL - bl: not supported on video"
is "rt-45 on a video: 400" "$(get "$U/video/clip.mp4?tr=rt-45")" 400
is "so past the end: 400" "$(get "$U/video/clip.mp4/ik-thumbnail.jpg?tr=so-9")" 400
is "nothing of them in the cache" "$(res_count)" "$before"
scrape "$HTTPD_URL/metrics" m4 || true
ok "  failed jobs counted in /metrics" [ "$(moved m3 m4 blobkit_video_jobs_failed_total)" -ge 1 ]
is "  and none done" "$(moved m3 m4 blobkit_video_jobs_done_total)" 0
ok "  nor in its tmp/" tmp_empty
is "the server is up" "$(get "$HTTPD_URL/healthz")" 200

# ---- Signed URLs (ImageKit's SDKs) -------------------------------------------------------------
is "unsigned on a signed endpoint: 401" "$(get "$S/video/clip.mp4/ik-thumbnail.jpg")" 401
url=$(node "$ROOT/tests/node/imagekit.mjs" sign "$S" "$KEY" /video/clip.mp4 w-144 "" legacy-path)
is "a transcode signed by the legacy SDK (path form)" "$(get "$url") $(media "$D/b")" \
    "200 h264,144,108 aac"
url=$(node "$ROOT/tests/node/imagekit.mjs" sign "$S" "$KEY" /video/clip.mp4/ik-thumbnail.jpg so-1,w-100 600)
is "a thumbnail signed by the current SDK, with an expiry" "$(get "$url") $(dims "$D/b")" "200 100x75"
url=$(node "$ROOT/tests/node/imagekit.mjs" sign "$S" "$KEY" /video/h480.mp4/ik-master.m3u8 sr-240_360 600)
is "a signed HLS master" "$(get "$url")" 200
signed=$(grep -v '^#' "$D/b" | grep . | head -n 1)
ok "  its references carry the package's signature" grep -qE '^ik-hls/sr-240_360/ik-sig-[0-9]+-[0-9a-f]{40}/ik-240p\.m3u8$' <<<"$signed"
is "  ffprobe plays the signed master" "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$url" | grep -c .)" 4
is "  a signed media playlist" "$(media "$S/video/h480.mp4/$signed")" "h264,320,240 aac"
tampered=$(sed 's/-\([0-9a-f]\)\([0-9a-f]*\)\//-\2\1\//' <<<"$signed")
is "  its signature on another package: 401" \
    "$(get "$S/video/h480.mp4/${signed/sr-240_360/sr-240}")" 401
is "  a tampered signature: 401" "$(get "$S/video/h480.mp4/$tampered")" 401

# ---- A changed source never serves an old result ----------------------------------------------
C=$U/video/change.mp4/ik-thumbnail.jpg
is "before: 320x240" "$(get "$C") $(dims "$D/b")" "200 320x240"
old=$(header ETag "$D/h")
"$mk" "$T/new.mp4" size=160x120 gop=12 >/dev/null
az put media video/change.mp4 "$T/new.mp4" >/dev/null
changed() { get "$C" >/dev/null; [ "$(dims "$D/b")" = 160x120 ]; }
ok "after the blob changed: the new video's thumbnail" wait_until 30 changed
ok "  with another ETag" test "$(header ETag "$D/h")" != "$old"

# ---- The cache survives a restart; 302/202 while a job runs (--video-wait 0) ---------------------
httpd_stop
printf 'partial' >"$VC/tmp/left-by-a-crash.part"
start --video-wait 0
ok "a restart removes what a stopped server left in tmp/" tmp_empty
is "the cache survives it: a thumbnail made before is served at once, no job" \
    "$(get "$U/video/clip.mp4/ik-thumbnail.jpg?tr=so-1.2,w-160") $(started "thumbnail of .*")" \
    "200 0"
V=$U/tr:w-128/video/short.mp4
is "a new video: 302 at once" "$(get "$V")" 302
is "  to the same URL with tr=orig-true" "$(header Location "$D/h")" "/pub/tr:w-128/video/short.mp4?tr=orig-true"
is "  not to be cached" "$(header Cache-Control "$D/h")" no-store
is "  where the original is" "$(get "$HTTPD_URL$(header Location "$D/h")") $(sha "$D/b")" \
    "200 $(sha "$SRC/video/short.mp4")"
ready() { [ "$(get "$V")" = 200 ]; }
ok "  then 200 once the job is done" wait_until 60 ready
is "  the video" "$(media "$D/b")" "h264,128,96 aac"
url=$(node "$ROOT/tests/node/imagekit.mjs" sign "$S" "$KEY" /video/short.mp4 w-64 600)
is "a signed one: 302" "$(get "$url")" 302
is "  to a signed original" "$(get "$HTTPD_URL$(header Location "$D/h")") $(sha "$D/b")" \
    "200 $(sha "$SRC/video/short.mp4")"
is "a new thumbnail: 202" "$(get "$U/video/short.mp4/ik-thumbnail.jpg?tr=w-64")" 202
is "  Retry-After, no-store" "$(header Retry-After "$D/h") $(header Cache-Control "$D/h")" "5 no-store"
thumb_ready() { [ "$(get "$U/video/short.mp4/ik-thumbnail.jpg?tr=w-64")" = 200 ]; }
ok "  then 200" wait_until 60 thumb_ready
is "a new manifest: 202" "$(get "$U/video/short.mp4/ik-master.m3u8?tr=sr-240")" 202

# ---- Jobs stop cleanly: SIGTERM mid-job, and a crash cleaned at the next start ----------------
long=/video/long.mp4/ik-master.m3u8?tr=sr-240_360_480
is "a long job: 202" "$(get "$U$long")" 202
busy() { [ -n "$(ls -A "$VC/tmp")" ]; }
ok "  it writes under tmp/" wait_until 30 busy
kill -9 "$HTTPD_PID"
wait "$HTTPD_PID" 2>/dev/null || true
ok "killed mid-job, it left its partial files" busy
start --video-wait 0
ok "the next start removes them" tmp_empty
kept=$(res_count)
is "a long job again: 202" "$(get "$U$long")" 202
ok "  under way" wait_until 30 busy
rc=0
httpd_stop || rc=$?
is "SIGTERM mid-job: blobhttpd exits 0" "$rc" 0
ok "  and its job removed its partial files" tmp_empty
is "  and left no result" "$(res_count)" "$kept"
