#!/usr/bin/env bash
# make install and make uninstall, for real, isolated: the test runs in a mount namespace of its
# own where /usr and /etc are overlays on this machine's (the writes land in a tmpfs and vanish
# with the namespace). There, after "make install PREFIX=/usr", an /etc/fstab line of type
# fuse.blobfs mounts a container from Azurite with "mount MOUNTPOINT", and so does
# "mount -t fuse.blobfs CONTAINER MOUNTPOINT -o ...": the real mount(8), mount.fuse and the
# installed blobfs. Then make uninstall leaves no file behind.
set -eu
. "$(dirname "$0")/ops_lib.sh"
ops_overlay usr etc
# mount(8) notes what the kernel does not keep (helper, _netdev) in /run/mount/utab: ours.
mkdir -p /run/mount
mount -t tmpfs blobkit-ops-utab /run/mount
at_exit "umount /run/mount"

ok "make install PREFIX=/usr" quietly "$T/install.out" make -s -C "$ROOT" "${OPS_BUILD[@]}" install \
    PREFIX=/usr
for f in /usr/bin/blobfs /usr/bin/blobkit-transform /usr/sbin/blobhttpd \
    /usr/share/man/man1/blobfs.1 /usr/share/man/man8/blobhttpd.8 \
    /usr/share/man/man5/blobhttpd.conf.5 /usr/share/man/man1/blobkit-transform.1 \
    /usr/lib/systemd/system/blobfs@.service /usr/lib/systemd/system/blobhttpd.service \
    /usr/lib/systemd/system/blobfs.target /etc/blobkit/blobhttpd.conf \
    /usr/share/doc/blobkit/operating.md /usr/share/doc/blobkit/examples/fstab.example; do
    ok "installed: $f" test -f "$f"
done
ok "a folder for the blobfs@ mounts' settings" test -d /etc/blobkit/blobfs
is "the installed blobfs runs" "$(/usr/bin/blobfs --version | cut -d' ' -f1-2)" \
    "blobfs $(cat "$ROOT/VERSION")"
is "man finds the pages" "$(man -w blobfs blobhttpd blobhttpd.conf | tr '\n' ' ')" \
    "/usr/share/man/man1/blobfs.1 /usr/share/man/man8/blobhttpd.8 /usr/share/man/man5/blobhttpd.conf.5 "
ok "the units name the installed paths" eval "grep -q '^ExecStart=/usr/sbin/blobhttpd --config /etc/blobkit/blobhttpd.conf\$' /usr/lib/systemd/system/blobhttpd.service &&
    grep -q '^ExecStart=/usr/bin/blobfs -f ' /usr/lib/systemd/system/blobfs@.service"

# fstab, the way operators mount: mount(8) -> /sbin/mount.fuse -> blobfs on its PATH.
azurite_start
mkdir -p "$T/src/photos" "$T/a" "$T/b"
printf 'hello fstab\n' >"$T/src/photos/hello.txt"
az container media >/dev/null
az upload media "$T/src" >/dev/null
az sas service rl media >"$T/media.sas"
chmod 600 "$T/media.sas"
echo "media $T/a fuse.blobfs ro,endpoint=$AZ_ENDPOINT,sas_file=$T/media.sas,allow_other,log_file=$T/fstab.log,_netdev,nofail 0 0" >>/etc/fstab
at_exit "umount '$T/a' 2>/dev/null"
ok "mount MOUNTPOINT, from its /etc/fstab line" mount "$T/a"
ok "it is a fuse.blobfs mount" grep -q " $T/a fuse.blobfs ro," /proc/self/mounts
is "a blob reads back" "$(cat "$T/a/photos/hello.txt")" "hello fstab"
is "the daemon is the installed blobfs" \
    "$(readlink "/proc/$(pgrep -f -n "blobfs media $T/a")/exe")" /usr/bin/blobfs
fails "no token in its command line" grep -q 'sig=' <(pgrep -af blobfs)
ok "umount" umount "$T/a"
fails "unmounted" mountpoint -q "$T/a"

at_exit "umount '$T/b' 2>/dev/null"
ok "mount -t fuse.blobfs CONTAINER MOUNTPOINT -o key=value" \
    mount -t fuse.blobfs media "$T/b" -o "endpoint=$AZ_ENDPOINT,sas_file=$T/media.sas,attr_timeout=30,log_file=$T/b.log"
is "reads" "$(cat "$T/b/photos/hello.txt")" "hello fstab"
umount "$T/b"
mount -t fuse.blobfs media "$T/b" -o "endpoint=$AZ_ENDPOINT,sas=?sv=x&sig=s3cr3t" >"$T/bad.out" 2>&1 &&
    rc=0 || rc=$?
ok "a token in -o: the mount fails ($rc)" [ "$rc" != 0 ]
fails "without the token in its message" grep -q s3cr3t "$T/bad.out"
fails "nothing mounted" mountpoint -q "$T/b"

# Uninstall: nothing left but the fstab line this test added.
ok "make uninstall PREFIX=/usr" make -s -C "$ROOT" "${OPS_BUILD[@]}" uninstall PREFIX=/usr
is "nothing of the install is left in /usr" "$(ops_added usr)" ""
is "nor in /etc (the unchanged configuration is removed)" "$(ops_added etc)" "/etc/fstab"

# An edited configuration survives an uninstall.
make -s -C "$ROOT" "${OPS_BUILD[@]}" install PREFIX=/usr >/dev/null
echo "endpoint = /x=/srv" >>/etc/blobkit/blobhttpd.conf
ok "uninstall says it keeps an edited blobhttpd.conf" \
    grep -q 'kept /etc/blobkit/blobhttpd.conf (edited)' <(make -s -C "$ROOT" "${OPS_BUILD[@]}" uninstall PREFIX=/usr)
ok "and keeps it" test -f /etc/blobkit/blobhttpd.conf

# DESTDIR: a staging root, nothing outside it.
stage=$T/stage
ok "make install DESTDIR= PREFIX=/usr/local" \
    make -s -C "$ROOT" "${OPS_BUILD[@]}" install DESTDIR="$stage" PREFIX=/usr/local
ok "staged in PREFIX" test -x "$stage/usr/local/bin/blobfs" -a -x "$stage/usr/local/sbin/blobhttpd"
ok "configuration in PREFIX/etc" test -f "$stage/usr/local/etc/blobkit/blobhttpd.conf"
ok "units name PREFIX's paths" \
    grep -q '^EnvironmentFile=/usr/local/etc/blobkit/blobfs/%i.conf$' \
    "$stage/usr/local/lib/systemd/system/blobfs@.service"
make -s -C "$ROOT" "${OPS_BUILD[@]}" uninstall DESTDIR="$stage" PREFIX=/usr/local
is "uninstall empties the staging root of files" "$(find "$stage" -type f | wc -l)" 0
