# tests/ops_lib.sh: what the tests of installing and packaging share (it_ops_*.sh). Sourced
# instead of tests/lib.sh, which it sources.
#
# The test runs again in a mount namespace of its own, so it may install for real: after
# ops_overlay usr etc, /usr and /etc are overlays on this machine's whose writes land in a
# tmpfs that vanishes with the namespace (the host never sees them).
#
#   ops_overlay DIR...       overlay each /DIR; undone when the test ends
#   ops_added DIR            the files and links written to /DIR since, one a line
#   "${OPS_BUILD[@]}"        make's arguments for the build under test (SAN=1 for build/san)
#   quietly FILE CMD...      run CMD with its output in FILE: ok "x" quietly F cmd (a
#                            redirection after ok would take ok's own line with it)
if [ -z "${BLOBKIT_OPS_NS:-}" ]; then
    exec unshare --mount --propagation private env BLOBKIT_OPS_NS=1 bash "$0" "$@"
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case $BIN in
*/build/san/bin) OPS_BUILD=(SAN=1) ;;
*) OPS_BUILD=() ;;
esac

_ops_upper=$T/ovl
ops_overlay() {
    local d
    if ! mountpoint -q "$_ops_upper"; then
        mkdir -p "$_ops_upper"
        mount -t tmpfs blobkit-ops "$_ops_upper"
        at_exit "umount '$_ops_upper'" # last: $T is removed after the cleanups
    fi
    for d in "$@"; do
        mkdir -p "$_ops_upper/$d.up" "$_ops_upper/$d.work"
        mount -t overlay overlay \
            -o "lowerdir=/$d,upperdir=$_ops_upper/$d.up,workdir=$_ops_upper/$d.work" "/$d"
        at_exit "umount -l '/$d'"
    done
}
quietly() {
    local out=$1
    shift
    "$@" >"$out" 2>&1
}
ops_added() { (cd "$_ops_upper/$1.up" && find . -type f -o -type l | sed "s|^\\.|/$1|" | sort); }
