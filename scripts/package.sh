#!/usr/bin/env bash
# Packages the four library crates as `cargo publish` would, without uploading anything, and
# checks that every .crate carries its README and both license texts.
#
# One `cargo package` for all four: cargo resolves the packaged crates' dependencies on each
# other (pipebuf_mio → pipebuf 0.4.0, ...) through a local registry of the crates it has just
# packaged, so none of ours has to be on crates.io, where `pipebuf` and its siblings are
# another author's older crates. Verification is on: each .crate is unpacked
# and built on its own, with nothing from the workspace, as docs.rs and users will build it.
#
# --allow-dirty: this is a check, not a release. CI packages a clean clone; a developer's
# tree usually has uncommitted changes, and those are what should be checked.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(pipebuf pipebuf_mio pipebuf_rustls pipebuf_websocket)

target_dir=$(cargo metadata --no-deps --format-version 1 |
  grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
version_of() {
  local id
  id=$(cargo pkgid -p "$1")
  echo "${id##*[#@]}"
}

# No stale .crate from an earlier run may pass the checks below. Cargo also keeps the
# sources it unpacked from the temporary local registry (named `-<hash>` under
# `$CARGO_HOME/registry/src`) and reuses them for the same name and version, so an earlier
# run's sources would be verified in place of today's: they go too.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
for crate in "${crates[@]}"; do
  version=$(version_of "$crate")
  rm -f "$target_dir/package/$crate-$version.crate"
  rm -rf "$cargo_home"/registry/src/-*/"$crate-$version"
done

args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
cargo package --allow-dirty "${args[@]}"

# What each .crate must hold, compared with the sources: the crate's README (named by the
# `readme` key) and the two license texts, identical to the ones at the repository root.
failed=0
for crate in "${crates[@]}"; do
  bad=0
  version=$(version_of "$crate")
  file="$target_dir/package/$crate-$version.crate"
  dir="$crate-$version"
  if [ ! -f "$file" ]; then
    echo "package.sh: $file was not written" >&2
    failed=1
    continue
  fi
  listing=$(tar -tzf "$file")
  for member in README.md LICENSE-MIT LICENSE-APACHE; do
    case "$member" in
      README.md) source="$crate/README.md" ;;
      *) source="$member" ;;
    esac
    if ! grep -qxF "$dir/$member" <<<"$listing"; then
      echo "package.sh: $crate $version: $member is missing from the .crate" >&2
      bad=1
    elif ! tar -xzOf "$file" "$dir/$member" | cmp -s - "$source"; then
      echo "package.sh: $crate $version: $member in the .crate differs from $source" >&2
      bad=1
    fi
  done
  manifest=$(tar -xzOf "$file" "$dir/Cargo.toml")
  for line in 'readme = "README.md"' 'license = "MIT OR Apache-2.0"'; do
    if ! grep -qxF "$line" <<<"$manifest"; then
      echo "package.sh: $crate $version: the packaged Cargo.toml lacks: $line" >&2
      bad=1
    fi
  done
  if [ "$bad" = 0 ]; then
    echo "package.sh: $crate $version: README.md, LICENSE-MIT and LICENSE-APACHE packaged"
  else
    failed=1
  fi
done
exit "$failed"
