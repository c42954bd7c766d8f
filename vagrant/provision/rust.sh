#!/bin/bash
# Rust for the vagrant user (the workspace needs a current stable toolchain, edition 2024),
# and the same toolchain visible to root (the tests run as root).
set -euo pipefail
if ! command -v "$HOME/.cargo/bin/cargo" >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --profile minimal --default-toolchain stable -c clippy -c rustfmt
fi
"$HOME/.cargo/bin/rustup" update stable
sudo ln -sf "$HOME/.cargo/bin/cargo" "$HOME/.cargo/bin/rustc" "$HOME/.cargo/bin/rustup" /usr/local/bin/
echo "export RUSTUP_HOME=$HOME/.rustup" | sudo tee /etc/profile.d/berth-rust.sh >/dev/null
