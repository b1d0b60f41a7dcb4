#!/usr/bin/env bash
# blobkit-video, the video engine on the command line (sanitizer build), checked from outside:
# ffprobe reads every output and every HLS/DASH rendition, ffmpeg -ss is the oracle of exact
# thumbnails (within a JPEG's noise), and each clip's frames show their index and which way is
# up (tests/vid_clip.h: vid_mkclip --frame reads them back). Every source kind, every video
# parameter, limits, bad and hostile inputs.
set -eu
. "$(dirname "$0")/lib.sh"

bv="$BIN/blobkit-video"
mk="$ROOT/build/rel/tools/vid_mkclip"
[ -x "$mk" ] || mk="$ROOT/build/san/tools/vid_mkclip"
cd "$T"

# A command that hangs fails instead of stalling the suite.
run() { timeout 60 "$@"; }

# media FILE: "CODEC,W,H AUDIO DURATION" as ffprobe reads them ("none" for a missing stream).
media() {
    ffprobe -v error -show_entries stream=codec_type,codec_name,width,height:format=duration \
        -of compact=p=0 "$1" | awk -F'[|=]' '
        $3 == "codec_type" && $4 == "video" && !v { v = $2 "," $6 "," $8 }
        $3 == "codec_type" && $4 == "audio" && !a { a = $2 }
        $1 == "duration" { d = $2 }
        END { printf "%s %s %.1f\n", v ? v : "none", a ? a : "none", d }'
}

# frame FILE [SECONDS [X,Y ...]]: the frame there, read back by the clip tool (plain libavcodec,
# not the engine): "INDEX upright|turned WxH R,G,B ...".
frame() { "$mk" --frame "$@"; }

# near "R,G,B ..." "R,G,B ...": each channel within 40 (video compression moves colours).
near() {
    local a=(${1//,/ }) b=(${2//,/ }) i
    [ ${#a[@]} = ${#b[@]} ] || return 1
    for ((i = 0; i < ${#a[@]}; i++)); do
        [ $((a[i] - b[i])) -lt 40 ] && [ $((b[i] - a[i])) -lt 40 ] || return 1
    done
}
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# ---- Clips: every source kind, 320x240, 2 s at 25 fps, a keyframe every 12 frames -----------
"$mk" h264.mp4 gop=12
"$mk" hevc.mp4 v=libx265 a=none gop=12
"$mk" av1.mp4 v=libsvtav1 a=none gop=12
"$mk" mpeg4.mp4 v=mpeg4 a=none gop=12
"$mk" h264.mov format=mov gop=12
"$mk" vp8.webm format=webm v=libvpx a=libopus gop=12
"$mk" vp9.webm format=webm v=libvpx-vp9 a=libopus gop=12
"$mk" av1.webm format=webm v=libsvtav1 a=none gop=12
"$mk" h264.mkv format=matroska a=none gop=12
"$mk" rot90.mp4 rotate=90 a=none gop=12
"$mk" vfr.mp4 vfr a=none gop=12
"$mk" anim.gif format=gif v=gif a=none size=160x120 alpha
"$mk" audio.m4a v=none
"$mk" h480.mp4 size=640x480 frames=25

# ---- probe ------------------------------------------------------------------------------------
json=$(run "$bv" probe --json h264.mp4)
is "probe --json" "$(echo "$json" | sed 's/,"bit_rate":[0-9]*//; s/"duration":2\.0[0-9]*/"duration":2.0/')" \
    '{"container":"mp4","video":"h264","audio":"aac","width":320,"height":240,"rotation":0,"duration":2.0,"fps":25.000,"sample_rate":48000,"channels":2}'
is "probe of a phone's portrait clip: shown 320x240, rotation 90" \
    "$(run "$bv" probe rot90.mp4 | cut -d' ' -f1-5)" "mp4 video=h264 audio= 320x240 rotation=90"
is "probe of WebM" "$(run "$bv" probe vp9.webm | cut -d' ' -f1-4)" \
    "webm video=vp9 audio=opus 320x240"

# ---- Thumbnails: exact frames against ffmpeg -ss -------------------------------------------
for so in 0.52 1.2 1.96; do
    run "$bv" thumbnail --so "$so" h264.mp4 ours.jpg
    ffmpeg -y -v error -ss "$so" -i h264.mp4 -frames:v 1 -q:v 2 theirs.jpg
    d=$("$mk" --mad ours.jpg theirs.jpg)
    ok "so-$so: the frame ffmpeg -ss gives, within a JPEG's noise (mean difference $d)" \
        below "$d" 4
    is "  its index" "$(frame ours.jpg | cut -d' ' -f1-2)" \
        "$(awk -v s="$so" 'BEGIN { printf "%d upright", s * 25 + 0.5 }')"
done
ffmpeg -y -v error -ss 1.24 -i h264.mp4 -frames:v 1 -q:v 2 next.jpg
d=$("$mk" --mad ours.jpg next.jpg)
ok "the next frame is told apart (mean difference $d)" below 4 "$d"
json=$(run "$bv" thumbnail --json --so 1 --tr w-100,h-100,f-webp h264.mp4 t.out)
is "thumbnail then an image chain: w-100,h-100,f-webp" "$json" \
    '{"time":1.000,"frame_width":320,"frame_height":240,"format":"webp","width":100,"height":100,"bytes":'"$(stat -c %s t.out)"'}'
run "$bv" thumbnail --tr f-png h264.mp4 t.png
is "the first frame without so" "$(frame t.png)" "0 upright 320x240"

# Every source kind, the frame at 1.2 s (30), upright.
for f in h264.mp4 hevc.mp4 av1.mp4 mpeg4.mp4 h264.mov vp8.webm vp9.webm av1.webm h264.mkv \
    rot90.mp4 anim.gif; do
    rm -f k.png
    run "$bv" thumbnail --so 1.2 --tr f-png "$f" k.png
    is "$f: thumbnail at 1.2 s is frame 30, upright" "$(frame k.png | cut -d' ' -f1-2)" \
        "30 upright"
done

# ---- Transcoding: every source kind into the default MP4 ------------------------------------
for f in h264.mp4 hevc.mp4 av1.mp4 mpeg4.mp4 h264.mov vp8.webm vp9.webm av1.webm h264.mkv; do
    run "$bv" transcode --tr w-160 "$f" "t-$f.mp4"
    is "$f to MP4: H.264 160x120, 2 s" "$(media "t-$f.mp4" | cut -d' ' -f1,3)" "h264,160,120 2.0"
done
is "audio comes along as AAC" "$(media t-vp8.webm.mp4 | cut -d' ' -f2)" aac

# ---- Every parameter --------------------------------------------------------------------------
tc() { rm -f out.*; run "$bv" transcode --tr "$1" h264.mp4 "out.${2:-mp4}"; }
size() { media "$1" | cut -d' ' -f1; }
tc w-160 && is "w-160" "$(media out.mp4)" "h264,160,120 aac 2.0"
tc h-60 && is "h-60" "$(size out.mp4)" "h264,80,60"
tc w-0.5 && is "w-0.5: half" "$(size out.mp4)" "h264,160,120"
tc w-120,ar-1-1 && is "w-120,ar-1-1" "$(size out.mp4)" "h264,120,120"
tc w-200,h-200 && is "c-maintain_ratio (default)" "$(size out.mp4)" "h264,200,200"
ok "  the middle: red on top, the blue band on the left cut off" \
    near "$(frame out.mp4 0 100,20 4,70 | cut -d' ' -f4-)" "230,20,20 128,128,128"
tc w-100,h-100,c-force && is "c-force" "$(size out.mp4)" "h264,100,100"
tc w-640,h-640,c-at_max && is "c-at_max never enlarges" "$(size out.mp4)" "h264,320,240"
tc w-640,h-640,c-at_max_enlarge && is "c-at_max_enlarge" "$(size out.mp4)" "h264,640,480"
tc w-200,h-200,c-at_least && is "c-at_least" "$(size out.mp4)" "h264,266,200"
tc w-200,h-200,cm-pad_resize,bg-00FF00 && is "cm-pad_resize" "$(size out.mp4)" "h264,200,200"
ok "  bg-00FF00 above and below" \
    near "$(frame out.mp4 0 100,4 100,195 | cut -d' ' -f4-)" "0,255,0 0,255,0"
tc w-200,h-200,cm-pad_resize,fo-top,bg-0000FF
ok "  fo-top: red at the top, blue padding below" \
    near "$(frame out.mp4 0 100,4 100,195 | cut -d' ' -f4-)" "230,20,20 0,0,255"
tc w-100,h-60,cm-extract,fo-top_left && is "cm-extract" "$(size out.mp4)" "h264,100,60"
ok "  fo-top_left: the red band" near "$(frame out.mp4 0 50,30 | cut -d' ' -f4-)" "230,20,20"
tc w-400,h-300,cm-pad_extract && is "cm-pad_extract" "$(size out.mp4)" "h264,400,300"
ok "  the frame in the middle of black" \
    near "$(frame out.mp4 0 4,4 200,60 | cut -d' ' -f4-)" "0,0,0 230,20,20"
tc w-320,h-60,fo-bottom
ok "fo-bottom keeps the bottom (grey, no red)" \
    near "$(frame out.mp4 0 160,30 | cut -d' ' -f4-)" "128,128,128"
tc q-10 && small=$(stat -c %s out.mp4)
tc q-95 && large=$(stat -c %s out.mp4)
ok "q-10 ($small bytes) is smaller than q-95 ($large)" test "$small" -lt "$large"
tc f-webm webm && is "f-webm: VP9 and Opus" "$(media out.webm)" "vp9,320,240 opus 2.0"
tc vc-av1 && is "vc-av1" "$(size out.mp4)" "av1,320,240"
tc vc-av1,f-webm webm && is "vc-av1,f-webm" "$(size out.webm)" "av1,320,240"
tc vc-vp9,ac-opus && is "vc-vp9,ac-opus in MP4" "$(media out.mp4 | cut -d' ' -f1,2)" \
    "vp9,320,240 opus"
tc vc-none && is "vc-none: audio only" "$(media out.mp4)" "none aac 2.0"
tc ac-none && is "ac-none: no audio" "$(media out.mp4)" "h264,320,240 none 2.0"
tc so-0.4,eo-1.2 && is "so-0.4,eo-1.2: 0.8 s" "$(media out.mp4 | cut -d' ' -f3)" "0.8"
is "  from frame 10" "$(frame out.mp4 | cut -d' ' -f1-2)" "10 upright"
tc so-1,du-0.6 && is "so-1,du-0.6: 0.6 s" "$(media out.mp4 | cut -d' ' -f3)" "0.6"
is "  from frame 25" "$(frame out.mp4 | cut -d' ' -f1-2)" "25 upright"
tc eo-0.8 && is "eo-0.8" "$(media out.mp4 | cut -d' ' -f3)" "0.8"
"$mk" late.mp4 late_audio gop=12
run "$bv" transcode --tr so-0.4,eo-1.2 late.mp4 late-out.mp4
is "a cut of a file with all its audio after all its video keeps the audio (0.8 s)" \
    "$(ffprobe -v error -select_streams a -show_entries stream=duration -of csv=p=0 \
        late-out.mp4 | awk '{ printf "%.1f", $1 }')" "0.8"
tc w-160,rt-90 && is "rt-90: 120x160" "$(size out.mp4)" "h264,120,160"
ok "  the red band on the right" near "$(frame out.mp4 0 115,80 | cut -d' ' -f4-)" "230,20,20"
tc rt-N90 && is "rt-N90: 240x320" "$(size out.mp4)" "h264,240,320"
ok "  the red band on the left" near "$(frame out.mp4 0 4,160 | cut -d' ' -f4-)" "230,20,20"

# Rotation metadata of the source applied: upright pixels, no rotation left in the output.
run "$bv" transcode rot90.mp4 up.mp4
is "a phone's portrait clip: 320x240, no display matrix left" \
    "$(size up.mp4) $(ffprobe -v error -show_entries stream_side_data=rotation -of csv=p=0 up.mp4)" \
    "h264,320,240 "
is "  upright, frame 25 at 1 s" "$(frame up.mp4 1 | cut -d' ' -f1-2)" "25 upright"

# A variable frame rate keeps its timestamps.
run "$bv" transcode vfr.mp4 vfr-out.mp4
pts() {
    ffprobe -v error -select_streams v -show_entries packet=pts_time -of csv=p=0 "$1" |
        sort -n | head -8 | tr '\n' ' '
}
is "VFR: the same frame times" "$(pts vfr-out.mp4)" "$(pts vfr.mp4)"

# GIF to MP4.
json=$(run "$bv" gif2mp4 --json anim.gif gif.mp4)
is "gif2mp4: H.264, 50 frames" "$(echo "$json" | sed 's/"bytes":[0-9]*,//')" \
    '{"mime":"video/mp4","width":160,"height":120,"duration":2.000,"frames":50,"vcodec":"libx264","acodec":""}'
is "  ffprobe agrees" "$(media gif.mp4)" "h264,160,120 none 2.0"
f=$(frame gif.mp4 1 80,110)
is "  frame 25 at 1 s" "$(echo "$f" | cut -d' ' -f1-2)" "25 upright"
ok "  transparent pixels over bg (black)" near "$(echo "$f" | cut -d' ' -f4)" "0,0,0"

# ---- HLS and DASH: ffprobe reads every rendition ------------------------------------------
mkdir hls dash
run "$bv" hls --tr sr-240_360_480_720 h480.mp4 hls
is "HLS master: three variants (720p is above the source)" \
    "$(grep -c '^ik-.*\.m3u8$' hls/ik-master.m3u8)" 3
for r in 240p:320,240 360p:480,360 480p:640,480; do
    is "HLS $r: ffprobe reads its playlist" \
        "$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 \
            "hls/ik-${r%%:*}.m3u8" | sort -u | grep . | tr '\n' ' ')" "aac h264,${r#*:} "
done
is "HLS: ffprobe reads the master" "$(ffprobe -v error -show_entries stream=width \
    -of csv=p=0 hls/ik-master.m3u8 | grep -c .)" 6
ok "HLS: every reference is relative" sh -c '! grep -h "/" hls/*.m3u8'
run "$bv" dash --tr sr-240_360_480 h480.mp4 dash
# (FFmpeg 5.1's dash demuxer resolves segments only against an absolute manifest path)
is "DASH: ffprobe reads three video representations and the audio" \
    "$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 \
        "$T/dash/ik-master.mpd" | sort -u | grep . | tr '\n' ' ')" \
    "aac h264,320,240 h264,480,360 h264,640,480 "
ok "DASH: relative segment names" grep -q 'media="ik-chunk-' dash/ik-master.mpd
mkdir hls-rot
run "$bv" hls --tr sr-240_360 rot90.mp4 hls-rot
is "HLS of a phone's portrait clip without audio: one 240p variant, upright, video only" \
    "$(grep -c '^ik-.*\.m3u8$' hls-rot/ik-master.m3u8) $(ffprobe -v error -show_entries \
        stream=codec_name,width,height -of csv=p=0 hls-rot/ik-240p.m3u8 | sort -u | grep . |
        tr '\n' ' ')$(frame hls-rot/ik-240p-00000.ts | cut -d' ' -f1-2)" "1 h264,320,240 0 upright"

# ---- Limits --------------------------------------------------------------------------------
limit() {
    local want=$1 needle=$2 rc=0; shift 2
    run "$bv" "$@" 2>err.txt || rc=$?
    is "$* exits $want" "$rc" "$want"
    ok "  saying so ('$needle')" grep -q "$needle" err.txt
}
limit 3 "over the limit" transcode --max-bytes 1000 h264.mp4 x.mp4
limit 3 "lasts" probe --max-duration 1 h264.mp4
limit 3 "over the limit" thumbnail --max-input-dim 200 --so 1 h264.mp4 x.jpg
limit 3 "over the limit" transcode --max-output-dim 200 h264.mp4 x.mp4
limit 3 "frames" transcode --max-frames 10 h264.mp4 x.mp4
limit 4 "out of time" transcode --max-seconds 0.000001 h264.mp4 x.mp4
ok "no partial output is left" test ! -e x.mp4

# ---- Bad and hostile inputs: a clear error, exit 1, no crash (the sanitizers watch) ----------
: >empty.mp4
printf 'this is not a video, whatever its name says\n' >text.mp4
head -c 20000 h264.mp4 >cut.mp4
"$mk" fast.mp4 faststart gop=12
head -c 15000 fast.mp4 >cut-fast.mp4
# An ftyp box, then a moov atom that claims 2 GiB and ends at once.
printf '\0\0\0\x18ftypisom\0\0\0\0isommp41\x7f\xff\xff\xffmoov\0\0\0\x6cmvhd' >huge-atom.mp4
# An EBML header, then a Segment of unknown size full of junk.
{ printf '\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08'
  printf '\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02\x18\x53\x80\x67\x01\xff\xff\xff\xff'
  printf '\xff\xff\xff'; head -c 4096 /dev/urandom; } >junk.webm
bad() {
    local f=$1 needle=$2 rc=0; shift 2
    run "$bv" "$@" "$f" x.out 2>err.txt || rc=$?
    is "$f: exits 1" "$rc" 1
    ok "  '$needle'" grep -q "$needle" err.txt
}
bad empty.mp4 "empty" thumbnail
bad text.mp4 "not a video" thumbnail
bad cut.mp4 "cannot read" transcode
bad cut-fast.mp4 "ends early" thumbnail --so 1.9
bad huge-atom.mp4 "neither video nor audio" thumbnail
bad junk.webm "" transcode
bad audio.m4a "no video" thumbnail
bad h264.mp4 "past the end" thumbnail --so 5
bad h264.mp4 "WebM" transcode --tr f-webm,vc-h264
rc=0
run "$bv" probe --json tests-do-not-exist.mp4 2>err.txt || rc=$?
is "a missing file exits 1" "$rc" 1
rc=0
run "$bv" transcode --tr w-10,wat-1 h264.mp4 x.mp4 2>err.txt || rc=$?
is "an unknown parameter exits 1" "$rc" 1
ok "  naming it" grep -q "wat-1" err.txt
rc=0
run "$bv" frobnicate h264.mp4 2>/dev/null || rc=$?
is "an unknown command is a usage error (2)" "$rc" 2
