#!/usr/bin/env bash
# Makes sure the given Debian packages are installed.
#
#   source scripts/deps.sh && nabla_ensure_deps cmake g++ ...   # from another script
#   bash scripts/deps.sh cmake g++ ...                           # on its own
#
# Already installed: does nothing. Missing and root: apt-get installs them. Missing and not root:
# uses `sudo -n` if that works without a password, otherwise prints the exact command and exits 1.

nabla_ensure_deps() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "deps: no dpkg-query (not Debian/Ubuntu?); make sure these are installed: $*" >&2
        return 0
    fi

    local missing=() pkg
    for pkg in "$@"; do
        local status
        status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
        if [[ "$status" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi

    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "deps: missing Debian packages: ${missing[*]}" >&2
            echo "deps: install them with:" >&2
            echo "    sudo apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi

    echo "deps: installing ${missing[*]}" >&2
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

# The Debian packages a GEMM back end (CMake NABLA_GEMM) needs, printed; nothing for eigen.
# Returns 1, with a message naming `who`, for a name that is not a back end.
#
#   package="$(nabla_gemm_package "$backend" demo)" || exit 2
nabla_gemm_package() {
    case "$1" in
        eigen) ;;
        # Debian's oneDNN is built with its OpenCL GPU runtime, so its CMake config requires
        # OpenCL's headers and library: a Recommends, which --no-install-recommends leaves out.
        onednn) echo libdnnl-dev ocl-icd-opencl-dev ;;
        openblas) echo libopenblas-dev ;;
        blis) echo libblis-dev ;;
        *)
            echo "$2: GEMM back end '$1': expected eigen, onednn, openblas or blis" >&2
            return 1
            ;;
    esac
}

# Run directly: install the packages named on the command line.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    nabla_ensure_deps "$@"
fi
