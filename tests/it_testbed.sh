#!/usr/bin/env bash
# The test bed itself: Azurite starts, the real SDK seeds it, and every kind of SAS the other
# tests rely on behaves as Azure's would.
set -eu
. "$(dirname "$0")/lib.sh"

azurite_start
az container media >/dev/null
mkdir -p "$T/src/a/b"
printf 'hello\n' >"$T/src/a/b/x.txt"
az upload media "$T/src" >/dev/null

code() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
blob="$AZ_ENDPOINT/media/a/b/x.txt"
list="$AZ_ENDPOINT/media?restype=container&comp=list"

is "service SAS rl reads" "$(code "$blob?$(az sas service rl media)")" 200
is "service SAS rl lists" "$(code "$list&$(az sas service rl media)")" 200
is "account SAS rl lists" "$(code "$list&$(az sas account rl)")" 200
is "service SAS r reads" "$(code "$blob?$(az sas service r media)")" 200
is "service SAS r cannot list" "$(code "$list&$(az sas service r media)")" 403
is "account SAS r cannot list" "$(code "$list&$(az sas account r)")" 403
is "expired SAS is refused" "$(code "$blob?$(az sas service rl media --expired)")" 403
is "tampered SAS is refused" "$(code "$blob?$(az sas service rl media --tampered)")" 403
is "no SAS on a private container is refused" "$(code "$blob")" 403
is "the blob reads back" "$(curl -s "$blob?$(az sas service r media)")" hello
