#!/usr/bin/env bash
# make deb: build/deb/blobkit_VERSION_ARCH.deb, with Debian's own tools and nothing else.
#
#   1. the programs, built apart (build/deb/obj) with dpkg-buildflags' flags (hardening:
#      fortify, stack protector, relro, bindnow) and WERROR=0, as packagers build;
#   2. make install DESTDIR=... PREFIX=/usr into build/deb/root, units in /lib/systemd/system;
#   3. stripped programs, compressed man pages and changelog, the copyright, md5sums;
#   4. Depends from the shared libraries the programs link (dpkg-shlibdeps) and control from
#      deploy/debian/control (dpkg-gencontrol), conffiles and maintainer scripts (the system
#      user blobhttpd, created in postinst);
#   5. dpkg-deb --build, files owned by root.
#
# The version is VERSION's; deploy/debian/ holds the package's own files. docs/operating.md.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

version=$(cat VERSION)
arch=$(dpkg --print-architecture)
out=build/deb
obj=$out/obj
root=$PWD/$out/root
src=$out/src
deb=$out/blobkit_${version}_${arch}.deb

for tool in dpkg-deb dpkg-shlibdeps dpkg-gencontrol dpkg-buildflags; do
    command -v "$tool" >/dev/null || { echo "mkdeb: $tool is missing (apt install dpkg-dev)" >&2; exit 1; }
done

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS) CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) \
    LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
    make -s O="$obj" BIN="$obj/bin" WERROR=0 programs

rm -rf "$root" "$src" "$deb"
make -s O="$obj" BIN="$obj/bin" install DESTDIR="$root" PREFIX=/usr SYSCONFDIR=/etc \
    UNITDIR=/lib/systemd/system >/dev/null

# What dh_strip, dh_compress and dh_installdocs would do.
doc=$root/usr/share/doc/blobkit
for f in "$root"/usr/bin/* "$root"/usr/sbin/*; do
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f"
done
find "$root/usr/share/man" -type f -name '*.[1-8]' -exec gzip -9n {} +
install -m 644 deploy/debian/copyright "$doc/copyright"

# The changelog: this version's entry, dated by the last commit (or now, out of git).
mkdir -p "$src/debian"
when=$(git log -1 --format=%aD 2>/dev/null || date -R)
cat >"$src/debian/changelog" <<EOF
blobkit ($version) unstable; urgency=medium

  * blobkit $version: see docs/ of the sources.

 -- blobkit maintainers <blobkit@lists.example.org>  $when
EOF
gzip -9n -c "$src/debian/changelog" >"$doc/changelog.gz"
cp deploy/debian/control "$src/debian/control"

install -d "$root/DEBIAN"
install -m 644 deploy/debian/conffiles "$root/DEBIAN/conffiles"
install -m 755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)

(cd "$src" && dpkg-shlibdeps -Tdebian/substvars "$root"/usr/bin/* "$root"/usr/sbin/*)
echo "misc:Depends=" >>"$src/debian/substvars"
(cd "$src" && dpkg-gencontrol -pblobkit -Tdebian/substvars -fdebian/files -P"$root")

dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
