# Shared by scripts/setup and scripts/install-pi (sourced, not run).

# ensure_packages PKG...: install the Debian packages that are missing, as root or with
# passwordless sudo; otherwise print the exact command and fail.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  elif sudo -n true 2>/dev/null; then
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "$(basename "$0"): these system packages are missing; install them, then run this again:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
}

# The packages the helper needs at run time.
RUNTIME_PACKAGES=(python3-venv espeak-ng libportaudio2 libspeexdsp1 alsa-utils)
