#!/usr/bin/env bash
# The video engine against the ffmpeg program, side by side in one run, ratios printed.
#
#   scripts/bench-video.sh [ROUNDS]          (default 5; transcodes run ROUNDS/2+1 times)
#   scripts/bench-video.sh presets           encoder presets: CPU, size and PSNR (no peer)
#
# The inputs are made here once: 10 s of 1920x1080 at 30 fps, testsrc2 with temporal noise (film
# grain: the entropy-coded data decides decode time), H.264 by ffmpeg's libx264 (veryfast, CRF
# 20), 14-17 Mbit/s as a phone records 1080p, no audio; one with x264's default keyframes (0, 3.7
# and 7.7 s here), one with a keyframe at least every 2 s (-g 60; x264 also puts one at 4.57 s).
#
# (a) Thumbnail at so-5, w-300, JPEG, on both inputs: `ffmpeg -ss 5 -i IN -frames:v 1 -vf scale=300:-1 OUT.jpg`
#     against blobkit in-process (build/rel/bench/bench_video: vid_thumbnail then tr_apply, as
#     blobhttpd will, looping in one process) and through the CLI (a process start each, like
#     ffmpeg's). Latency: best and median wall time of interleaved rounds; CPU ms per thumbnail
#     (steadier on a shared machine). Exactness: the whole frame (PNG, no resize) against
#     ffmpeg's frame at 5 s and its neighbours, and the w-300 JPEGs against each other (mean
#     absolute difference, 0-255).
# (b) Transcode 1080p to 720p H.264 and to 480p VP9 with the same encoder, preset, CRF, keyframe
#     interval and thread count (2) on both sides: frames per second (best of the rounds), CPU
#     seconds, output bytes.
# (c) Peak RSS of each process (GNU time), and of one HLS job with five renditions.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
dir=tmp/bench-video
bv=bin/blobkit-video
bench=build/rel/bench/bench_video
mk=build/rel/tools/vid_mkclip
mkdir -p "$dir"
make -s all >/dev/null
command -v ffmpeg >/dev/null && [ -x /usr/bin/time ] || {
    echo "bench-video: needs ffmpeg and GNU time (scripts/setup.sh bench)" >&2; exit 1; }
# input OUT [X264 OPTIONS]: the 10 s 1080p30 input, made once.
input() {
    local out=$1; shift
    [ -s "$out" ] && return
    echo "making $out (10 s of 1080p30, once)"
    ffmpeg -v error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=10,noise=alls=5:allf=t" \
        -c:v libx264 -preset veryfast -crf 20 "$@" -pix_fmt yuv420p "$out"
}
in=$dir/in.mp4
in2=$dir/in-gop2s.mp4
input "$in"
input "$in2" -g 60

# timed OUT CMD...: run CMD, append "<wall ms> <cpu ms> <peak RSS KiB>" to OUT.
timed() {
    local out=$1 t0 t1; shift
    t0=$(date +%s%N)
    /usr/bin/time -f "%U %S %M" -o "$dir/time.txt" "$@" >/dev/null
    t1=$(date +%s%N)
    awk -v w=$(((t1 - t0) / 1000000)) '{ printf "%d %d %d\n", w, ($1 + $2) * 1000, $3 }' \
        "$dir/time.txt" >>"$out"
}
# stats FILE: "<best wall ms> <median wall ms> <mean cpu ms> <max RSS KiB>"
stats() {
    sort -n "$1" | awk '{ w[NR] = $1; c += $2; if ($3 > m) m = $3 }
        END { printf "%d %d %d %d\n", w[1], w[int((NR + 1) / 2)], c / NR, m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

presets() {
    local p s cpu h ref
    for h in 720 480; do
        [ -s "$dir/ref$h.nut" ] || ffmpeg -v error -y -i "$in" \
            -vf "scale=$((h * 16 / 9 / 2 * 2)):$h:flags=bicubic" -c:v rawvideo -f nut "$dir/ref$h.nut"
    done
    psnr() {
        ffmpeg -i "$1" -i "$2" -lavfi \
            "[0]settb=1/30,setpts=N[a];[1]settb=1/30,setpts=N[b];[a][b]psnr" -f null - 2>&1 |
            sed -n 's/.*average:\([0-9.]*\).*/\1/p'
    }
    echo "encoder presets on the input scaled to the bench's sizes (H.264 and AV1 720p, VP9"
    echo "480p), 300 frames, 2 threads, a keyframe every 4 s; PSNR against the scaled input"
    printf '%-52s %10s %7s %8s\n' preset bytes "CPU s" "PSNR dB"
    for p in "720 libx264 -preset ultrafast -crf 23" "720 libx264 -preset veryfast -crf 23" \
        "720 libx264 -preset faster -crf 23" "720 libx264 -preset medium -crf 23" \
        "480 libvpx-vp9 -deadline realtime -cpu-used 8 -crf 31 -b:v 0 -row-mt 1" \
        "480 libvpx-vp9 -deadline realtime -cpu-used 6 -crf 31 -b:v 0 -row-mt 1" \
        "480 libvpx-vp9 -deadline good -cpu-used 5 -crf 31 -b:v 0 -row-mt 1" \
        "720 libsvtav1 -preset 12 -crf 31" "720 libsvtav1 -preset 10 -crf 31" \
        "720 libsvtav1 -preset 8 -crf 31"; do
        ref=$dir/ref${p%% *}.nut
        rm -f "$dir/p.txt"
        SVT_LOG=1 timed "$dir/p.txt" ffmpeg -v error -y -threads 2 -i "$ref" -c:v ${p#* } \
            -g 120 -threads 2 "$dir/p.mkv"
        read -r _ cpu _ <"$dir/p.txt"
        s=$(stat -c %s "$dir/p.mkv")
        printf '%-52s %10d %7.1f %8.2f\n' "${p%% *}p ${p#* }" "$s" \
            "$(awk -v c="$cpu" 'BEGIN { print c / 1000 }')" "$(psnr "$dir/p.mkv" "$ref")"
    done
}
if [ "${1:-}" = presets ]; then presets; exit 0; fi

# thumbs IN: (a) on one input.
thumbs() {
    local in=$1 i
    rm -f "$dir"/ff.t "$dir"/cli.t
    for ((i = 0; i < rounds; i++)); do
        timed "$dir/ff.t" ffmpeg -v error -y -ss 5 -i "$in" -frames:v 1 -vf scale=300:-1 \
            "$dir/ff.jpg"
        timed "$dir/cli.t" "$bv" thumbnail --so 5 --tr w-300 "$in" "$dir/cli.jpg"
    done
    read -r inproc_best inproc_med inproc_cpu inproc_rss < <("$bench" thumb "$in" 5 w-300 \
        $((rounds * 2)) "$dir/inproc.jpg" | awk '{ printf "%d %d %d %d\n", $1, $2, $3, $4 }')
    read -r ff_best ff_med ff_cpu ff_rss < <(stats "$dir/ff.t")
    read -r cli_best cli_med cli_cpu cli_rss < <(stats "$dir/cli.t")
    printf '%-34s %8s %8s %8s %10s\n' "" "best ms" "median" "CPU ms" "RSS KiB"
    printf '%-34s %8d %8d %8d %10d\n' "ffmpeg (process)" "$ff_best" "$ff_med" "$ff_cpu" "$ff_rss"
    printf '%-34s %8d %8d %8d %10d\n' "blobkit in-process (bench_video)" "$inproc_best" \
        "$inproc_med" "$inproc_cpu" "$inproc_rss"
    printf '%-34s %8d %8d %8d %10d\n' "blobkit CLI (process)" "$cli_best" "$cli_med" \
        "$cli_cpu" "$cli_rss"
    echo "ratio ffmpeg/ours, best wall: in-process $(ratio "$ff_best" "$inproc_best")x," \
        "CLI $(ratio "$ff_best" "$cli_best")x (target >= 2 in-process);" \
        "CPU: in-process $(ratio "$ff_cpu" "$inproc_cpu")x, CLI $(ratio "$ff_cpu" "$cli_cpu")x"
    ffmpeg -v error -y -ss 5 -i "$in" -frames:v 1 "$dir/ff5.png"
    ffmpeg -v error -y -ss 5.03 -i "$in" -frames:v 1 "$dir/ff5-next.png"
    ffmpeg -v error -y -ss 5.03 -i "$in" -frames:v 1 -vf scale=300:-1 "$dir/ff-next.jpg"
    "$bv" thumbnail --so 5 --tr f-png "$in" "$dir/ours5.png"
    echo "exactness (mean absolute difference, 0-255): the whole frame (PNG), ours against" \
        "ffmpeg's at 5 s $("$mk" --mad "$dir/ours5.png" "$dir/ff5.png"), against the next" \
        "frame (5.033 s) $("$mk" --mad "$dir/ours5.png" "$dir/ff5-next.png"); w-300 JPEGs," \
        "ours against ffmpeg's $("$mk" --mad "$dir/inproc.jpg" "$dir/ff.jpg"), ffmpeg's at 5 s" \
        "against its next frame $("$mk" --mad "$dir/ff.jpg" "$dir/ff-next.jpg")"
}
echo "== (a) thumbnail of a 1080p H.264 at so-5, w-300 ($rounds rounds, interleaved)"
echo "-- keyframes every 2 s (-g 60, as streaming encoders and phones make them)"
thumbs "$in2"
echo "-- keyframes where x264 puts them by default (0, 3.7, 7.7 s: 39 frames to decode to 5 s)"
thumbs "$in"

fps() { awk -v w="$1" 'BEGIN { printf "%.1f", 300 / (w / 1000) }'; }
transcode() {
    local name=$1 ours=$2 peer=$3 n=$((rounds / 2 + 1))
    rm -f "$dir"/o.t "$dir"/f.t
    for ((i = 0; i < n; i++)); do
        timed "$dir/o.t" $ours
        timed "$dir/f.t" $peer
    done
    read -r ob _ oc orss < <(stats "$dir/o.t")
    read -r fb _ fc frss < <(stats "$dir/f.t")
    printf '%-22s %6s fps %7.1f CPU s %10d KiB  %9d bytes\n' "$name, blobkit" "$(fps "$ob")" \
        "$(awk -v c="$oc" 'BEGIN { print c / 1000 }')" "$orss" "$(stat -c %s "${ours##* }")"
    printf '%-22s %6s fps %7.1f CPU s %10d KiB  %9d bytes\n' "$name, ffmpeg" "$(fps "$fb")" \
        "$(awk -v c="$fc" 'BEGIN { print c / 1000 }')" "$frss" "$(stat -c %s "${peer##* }")"
    echo "ratio blobkit/ffmpeg: fps $(ratio "$fb" "$ob")x (target >= 0.95), CPU" \
        "$(ratio "$fc" "$oc")x"
}
echo
echo "== (b) transcode 1080p, 300 frames, 2 threads ($((rounds / 2 + 1)) rounds, interleaved)"
transcode "720p H.264" "$bv transcode --threads 2 --tr h-720 $in $dir/o720.mp4" \
    "ffmpeg -v error -y -threads 2 -i $in -filter_threads 2 -vf scale=1280:720:flags=bicubic
     -c:v libx264 -preset veryfast -crf 23 -g 120 -forced-idr 1 -threads 2 -movflags +faststart
     $dir/f720.mp4"
transcode "480p VP9" "$bv transcode --threads 2 --tr h-480,f-webm $in $dir/o480.webm" \
    "ffmpeg -v error -y -threads 2 -i $in -filter_threads 2 -vf scale=852:480:flags=bicubic
     -c:v libvpx-vp9 -deadline realtime -cpu-used 6 -row-mt 1 -crf 31 -b:v 0 -g 120 -threads 2
     $dir/f480.webm"

echo
echo "== (c) peak RSS of one job (GNU time, the whole process)"
rm -rf "$dir/hls" "$dir/h.t" && mkdir "$dir/hls"
timed "$dir/h.t" "$bv" hls --threads 2 --tr sr-240_360_480_720_1080 "$in" "$dir/hls"
read -r hb _ hc hrss < <(stats "$dir/h.t")
echo "thumbnail: ffmpeg $ff_rss KiB, blobkit CLI $cli_rss KiB, in-process loop $inproc_rss KiB"
echo "transcodes: above; HLS with 5 renditions (1080p source): $hrss KiB," \
    "$(awk -v c="$hc" 'BEGIN { print c / 1000 }') CPU s, $(fps "$hb") fps"
