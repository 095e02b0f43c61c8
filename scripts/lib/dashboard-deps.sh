# Install helpers of the web dashboard (sourced, not run): Node.js and npm to build it
# (scripts/build-dashboard), Chromium to test it (tests/browser/run.sh).

# apt-get install the given Debian packages when any is missing (scripts/lib/deps.sh's
# apt_ensure when it is loaded, else the same thing here).
_dashboard_apt_ensure() {
    if declare -F apt_ensure >/dev/null; then
        apt_ensure "$@"
        return
    fi
    local missing=() p sudo=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> apt-get install ${missing[*]}" >&2
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# node and npm (the machine's own when present; Debian's otherwise). Vite needs Node 20.19+.
ensure_node() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        _dashboard_apt_ensure nodejs npm
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$major" -lt 20 ]; then
        echo "warning: node $(node -v 2>/dev/null) is older than the dashboard's build tools need (20.19 or later)" >&2
    fi
}

# Chromium for the browser test (Playwright drives Debian's build; nothing is downloaded).
ensure_chromium() {
    [ -x /usr/bin/chromium ] || _dashboard_apt_ensure chromium
}

ensure_dashboard_deps() {
    ensure_node
    ensure_chromium
}
