#!/bin/bash
# Builds vmm's minimal guest kernel from Debian's linux-source package:
# tinyconfig + microvm.config, checked, then bzImage. Everything lands in
# $CACHE/<key>/ where <key> hashes every input (source package version,
# compiler, config, this script); an existing result is reused.
#
#   build.sh [--key]      --key: print the cache key and exit
#   env: CACHE (default ~/.cache/vmm/kbuild)  KSRC_PKG (linux-source-6.12)  JOBS (nproc)
# Prints the bzImage path on its last line; vmlinux (the same kernel as an
# ELF file with a PVH entry point, symbols stripped) lies beside it. Needs: build-essential bc bison
# flex libelf-dev libssl-dev lz4 and the source package (make deps installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${CACHE:-$HOME/.cache/vmm/kbuild}
KSRC_PKG=${KSRC_PKG:-linux-source-6.12}
JOBS=${JOBS:-$(nproc)}

ver=$(dpkg-query -W -f='${Version}' "$KSRC_PKG" 2>/dev/null) ||
  { echo "build.sh: $KSRC_PKG is not installed (apt-get install $KSRC_PKG)" >&2; exit 1; }
key=$({ echo "$KSRC_PKG $ver"; gcc --version | head -1; ld --version | head -1
        cat "$here/microvm.config" "$here/build.sh"; } | sha256sum | cut -c1-16)
[ "${1:-}" = --key ] && { echo "$key"; exit 0; }
out=$CACHE/$key
if [ -s "$out/bzImage" ] && [ -s "$out/vmlinux" ]; then echo "$out/bzImage"; exit 0; fi

echo "build.sh: building the minimal guest kernel from $KSRC_PKG $ver, once (10-20 minutes on 2 cores; cached in $out)" >&2
tarball=$(ls /usr/src/"$KSRC_PKG".tar.* | head -1)
src=$CACHE/src-$KSRC_PKG-$ver
if [ ! -f "$src/.complete" ]; then
  echo "build.sh: unpacking $tarball" >&2
  rm -rf "$src" "$src.tmp"; mkdir -p "$src.tmp"
  tar -C "$src.tmp" --strip-components=1 -xf "$tarball"
  touch "$src.tmp/.complete"; mv "$src.tmp" "$src"
fi

# Pinned build metadata: the same inputs give the same image.
export KBUILD_BUILD_USER=vmm KBUILD_BUILD_HOST=vmm KBUILD_BUILD_VERSION=1
export KBUILD_BUILD_TIMESTAMP="$(date -u -d @"$(stat -c %Y "$tarball")" '+%Y-%m-%d %H:%M:%S UTC')"
# One object directory per source version: a changed config rebuilds only
# what depends on the changed options.
obj=$CACHE/obj-$KSRC_PKG-$ver
mk=(make -s -C "$src" O="$obj" ARCH=x86_64)
mkdir -p "$obj"
"${mk[@]}" tinyconfig >/dev/null
checks=()
while read -r op sym val; do
  case "$op" in ''|'#'*) continue ;; esac
  case "$op" in
    y) "$src/scripts/config" --file "$obj/.config" -e "$sym" ;;
    n) "$src/scripts/config" --file "$obj/.config" -d "$sym" ;;
    val) "$src/scripts/config" --file "$obj/.config" --set-val "$sym" "$val" ;;
    check) ;;
    *) echo "build.sh: microvm.config: unknown request '$op'" >&2; exit 1 ;;
  esac
  checks+=("$op $sym ${val:-}")
done <"$here/microvm.config"
"${mk[@]}" olddefconfig >/dev/null
failed=0
for c in "${checks[@]}"; do
  read -r op sym val <<<"$c"
  case "$op" in
    y|check) grep -qx "CONFIG_$sym=y" "$obj/.config" || { echo "build.sh: CONFIG_$sym is not y" >&2; failed=1; } ;;
    n) ! grep -qE "^CONFIG_$sym=" "$obj/.config" || { echo "build.sh: CONFIG_$sym is still set" >&2; failed=1; } ;;
    val) grep -qx "CONFIG_$sym=$val" "$obj/.config" || { echo "build.sh: CONFIG_$sym is not $val" >&2; failed=1; } ;;
  esac
done
[ "$failed" = 0 ] || { echo "build.sh: microvm.config does not hold after olddefconfig" >&2; exit 1; }
# Progress once a minute: the compile is silent for 10-20 minutes. The
# ticker writes to stderr only (stdout's last line is the result), and
# goes with its sleep when make is done, whatever its status.
(while sleep 60; do
  n=$(find "$obj" -name '*.o' -newer "$obj/.config" 2>/dev/null | wc -l)
  echo "build.sh: $((SECONDS / 60)) min, $n object files compiled (about 1,300 in all for a cold build)" >&2
done) >/dev/null &
progress=$!
stop_progress() { pkill -P "$progress" 2>/dev/null || true; kill "$progress" 2>/dev/null || true; }
trap stop_progress EXIT
"${mk[@]}" -j"$JOBS" bzImage
stop_progress
mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$out.tmp/"
# the same kernel uncompressed, for PVH boot (vmm boot --kernel vmlinux)
strip --strip-all -o "$out.tmp/vmlinux" "$obj/vmlinux"
rm -rf "$out"; mv "$out.tmp" "$out"
echo "$out/bzImage"
