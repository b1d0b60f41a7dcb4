#!/usr/bin/env bash
# make deb, then the package as an operator gets it. lintian reports no error; the control says
# Depends from the shared libraries (dpkg-shlibdeps) plus fuse3 and adduser, and conffiles for
# /etc; the programs are hardened as Debian builds them. Then dpkg -i for real, on this machine
# seen through overlays of /usr, /etc and /var in a mount namespace of the test's own
# (tests/ops_lib.sh): this machine has every dependency and no blobkit, and the host never
# sees the install. A chroot made with debootstrap would be a cleaner machine but takes minutes
# to make. There: the user blobhttpd, the programs, man pages and units, blobhttpd running as
# that user on the packaged configuration; a reinstall keeps an edited conffile; remove and
# purge leave nothing of the package behind.
set -eu
. "$(dirname "$0")/ops_lib.sh"

for tool in dpkg-deb dpkg-shlibdeps dpkg-gencontrol lintian readelf; do
    if ! command -v "$tool" >/dev/null; then
        echo "# skipped: $tool is missing (scripts/setup.sh installs it)"
        exit 0
    fi
done
version=$(cat "$ROOT/VERSION")
deb=$ROOT/build/deb/blobkit_${version}_$(dpkg --print-architecture).deb
ok "make deb" quietly "$T/deb.out" make -s -C "$ROOT" deb
ok "it makes blobkit_VERSION_ARCH.deb" test -f "$deb"

lintian --tag-display-limit 0 "$deb" >"$T/lintian.out" 2>&1 || true
sed 's/^/# lintian: /' "$T/lintian.out"
is "lintian: no error" "$(grep -c '^E: ' "$T/lintian.out" || true)" 0
is "the version is VERSION's" "$(dpkg-deb -f "$deb" Version)" "$version"
depends=$(dpkg-deb -f "$deb" Depends)
for p in libc6 libfuse3-3 libcurl4 libxml2 libmicrohttpd12 libvips42 libsystemd0 libssl3 fuse3 \
    adduser; do
    ok "Depends: $p" grep -qE "(^|, )$p( |,|\$)" <<<"$depends"
done
is "conffiles: the configuration" "$(dpkg-deb -I "$deb" conffiles)" /etc/blobkit/blobhttpd.conf
mkdir -p "$T/x"
dpkg-deb -x "$deb" "$T/x"
for f in usr/bin/blobfs usr/sbin/blobhttpd usr/bin/blobkit-transform; do
    ok "$f: full RELRO and immediate binding" eval \
        "readelf -lW '$T/x/$f' | grep -q GNU_RELRO && readelf -dW '$T/x/$f' | grep -q BIND_NOW"
done
ok "fortified calls (_FORTIFY_SOURCE)" grep -q '__[a-z]*_chk' <(readelf -sW --dyn-syms "$T/x/usr/sbin/blobhttpd")

# ---- dpkg -i on this machine, through overlays ----------------------------------------------
ops_overlay usr etc var
rm -f /var/lib/man-db/auto-update # man-db's trigger would re-index every page (seconds)
ok "dpkg -i" quietly "$T/dpkg.out" dpkg -i "$deb"
is "installed" "$(dpkg-query -W -f='${Status}' blobkit)" "install ok installed"
ok "postinst made the system user blobhttpd" eval "getent passwd blobhttpd >/dev/null"
ok "a system account without a shell" eval \
    "[ \$(id -u blobhttpd) -lt 1000 ] && getent passwd blobhttpd | grep -q ':/usr/sbin/nologin\$'"
ok "the conffile is registered" grep -q '/etc/blobkit/blobhttpd.conf [0-9a-f]\{32\}' \
    <(dpkg-query -W -f='${Conffiles}' blobkit)
is "blobfs runs" "$(/usr/bin/blobfs --version | cut -d' ' -f1-2)" "blobfs $version"
is "blobhttpd runs" "$(/usr/sbin/blobhttpd --version)" "blobhttpd $version"
is "man pages" "$(man -w blobfs blobhttpd | tr '\n' ' ')" \
    "/usr/share/man/man1/blobfs.1.gz /usr/share/man/man8/blobhttpd.8.gz "
ok "readable" grep -q 'metrics-listen' <(man -P cat -l /usr/share/man/man1/blobfs.1.gz 2>/dev/null)
cp /usr/share/doc/blobkit/examples/blobfs-media.conf /etc/blobkit/blobfs/media.conf
is "systemd-analyze verify on the packaged units" \
    "$(systemd-analyze verify blobfs@media.service blobhttpd.service blobfs.target 2>&1)" ""

# blobhttpd as its user, on the packaged configuration plus an endpoint (ports picked free).
chmod 755 "$T"
mkdir -p "$T/www"
printf 'served\n' >"$T/www/a.txt"
echo "endpoint = /w=$T/www" >>/etc/blobkit/blobhttpd.conf
runuser -u blobhttpd -- /usr/sbin/blobhttpd --config /etc/blobkit/blobhttpd.conf \
    --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --access-log - --log - >/dev/null 2>"$T/h.log" &
hpid=$!
at_exit "kill $hpid 2>/dev/null"
ok "blobhttpd starts as blobhttpd on the packaged configuration" \
    wait_until 20 grep -qs 'listening on' "$T/h.log"
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/h.log")
is "and serves" "$(curl -s "http://127.0.0.1:$port/w/a.txt")" served
is "as that user" "$(ps -o user= -p "$(pgrep -P "$hpid" -x blobhttpd || echo "$hpid")")" blobhttpd
kill "$hpid"

ok "a reinstall" quietly "$T/dpkg2.out" dpkg -i --force-confold "$deb"
ok "keeps the edited configuration" grep -q "endpoint = /w=$T/www" /etc/blobkit/blobhttpd.conf
mkdir -p /var/log/blobhttpd
touch /var/log/blobhttpd/access.log
rm /etc/blobkit/blobfs/media.conf # the administrator's, not the package's
ok "dpkg -r" quietly "$T/dpkg3.out" dpkg -r blobkit
fails "the programs are gone" test -e /usr/bin/blobfs -o -e /usr/sbin/blobhttpd
ok "the configuration stays" test -f /etc/blobkit/blobhttpd.conf
ok "dpkg --purge" quietly "$T/dpkg4.out" dpkg --purge blobkit
fails "the configuration is gone" test -e /etc/blobkit/blobhttpd.conf
fails "the logs are gone" test -e /var/log/blobhttpd
ok "the user stays (Debian's way)" eval "getent passwd blobhttpd >/dev/null"
# (man-db caches the pages it formatted, for systemd-analyze verify here: its cache, not ours)
is "no file of the package is left in /usr, /etc or /var" \
    "$(for d in usr etc var; do ops_added "$d"; done | grep -v '^/var/cache/man/' |
        grep -i blob || true)" ""
