#!/usr/bin/env bash
# Build every reference server as a Docker image, run each container, certify it, clean up.
#
# Contract: needs root, Linux, and the repository's .venv (make venv). Offline except for apt
# (docker.io + debootstrap when absent), debootstrap (deb.debian.org, cached) and pip (PyPI, the
# SDK's pinned dependency wheels, cached). Steps:
#   1. install docker.io + debootstrap with apt if absent; start a private dockerd (own data/exec
#      root and socket under a temp dir, no bridge, no iptables);
#   2. base images, built locally (no registry is reachable): `openenv-base:local` = debootstrap
#      --variant=minbase bookworm + python3/pip, `docker import`ed; `openenv-node-base:local` =
#      that image plus the host's Node binary (Debian bookworm's nodejs is 18; servers need >= 20);
#   3. wheels: the SDK wheel plus its dependencies' wheels pinned to .venv's versions, so every
#      image installs with `pip --no-index`;
#   4. for each server: build (legacy builder, --network host), run with --network host and
#      HOST=127.0.0.1 PORT=<free port>, wait for the HEALTHCHECK to report healthy, certify with
#      `openenv-conformance run URL --profile core,v1 --report-dir reports/docker/<name>`;
#   5. python_exec_env only: its container runs with the run options of PYEXEC_RUN_OPTS (its own
#      seccomp profile, which allows the namespace calls Docker's default refuses, and unmasked
#      /proc paths so that the sandbox can mount a private /proc), and after certification the
#      adversarial probes of its tests/test_adversarial.py run against the container
#      (OPENENV_PYEXEC_URL); their pytest summary is the "adversarial" line of the summary; then
#      the same image runs under Docker's defaults and its isolation report must admit the
#      fallback (no namespaces, sessions readable): the "fallback report" line;
#   6. always: remove containers, stop dockerd by PID, unmount leftovers, delete the temp dir.
# Prints one summary line per server and exits 1 if any step failed (2 on a usage error).
# Arguments: server names (default: echo_env everything python_exec_env gridworld_env node), or
# `--exec COMMAND [ARGS...]`: steps 1-3 only, then COMMAND runs with DOCKER_HOST (the private
# engine), OPENENV_BASE_IMAGE (openenv-base:local), OPENENV_WHEELS (the wheels directory) and
# OPENENV_VERSION set; the script exits with its status after step 5 (used by `openenv build`'s test).
# Environment: OPENENV_DOCKER_CACHE (default /var/tmp/openenv-docker-cache),
# OPENENV_DOCKER_REPORTS (default <repo>/reports/docker), OPENENV_DOCKER_PROFILES (core,v1).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVERS_DIR="$REPO/reference-servers"
VENV="$REPO/.venv"
CACHE="${OPENENV_DOCKER_CACHE:-/var/tmp/openenv-docker-cache}"
REPORTS="${OPENENV_DOCKER_REPORTS:-$REPO/reports/docker}"
PROFILES="${OPENENV_DOCKER_PROFILES:-core,v1}"
HEALTH_TIMEOUT_S=90
BUILD_TIMEOUT_S=300
CERTIFY_TIMEOUT_S=300
DEBIAN_MIRROR="http://deb.debian.org/debian"
BASE_PACKAGES="python3,python3-pip,ca-certificates"
DEFAULT_SERVERS=(echo_env everything python_exec_env gridworld_env node)
EXEC=()
if [[ ${1:-} == --exec ]]; then
    shift
    [[ $# -gt 0 ]] || { echo "run.sh: --exec needs a command" >&2; exit 2; }
    EXEC=("$@")
    set --
fi
SERVERS=("$@")
[[ ${#SERVERS[@]} -gt 0 || ${#EXEC[@]} -gt 0 ]] || SERVERS=("${DEFAULT_SERVERS[@]}")

log() { printf '[%(%H:%M:%S)T +%4ds] %s\n' -1 "$SECONDS" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || { echo "run.sh: must run as root (it starts dockerd)" >&2; exit 2; }
[[ -x "$VENV/bin/python" ]] || { echo "run.sh: $VENV missing: run make venv" >&2; exit 2; }
for name in "${SERVERS[@]}"; do
    [[ -d "$SERVERS_DIR/$name" ]] || { echo "run.sh: unknown server '$name'" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/oe-docker.XXXXXX)"
DOCKERD_PID=""
CONTAINERS=()
declare -A RESULT BUILD_S HEALTH_S IMAGE_MB PORT
# What python_exec_env's sandbox needs from the engine (documented in its README, "In a container").
PYEXEC_RUN_OPTS=(--security-opt "seccomp=$SERVERS_DIR/python_exec_env/seccomp.json"
    --security-opt systempaths=unconfined)
ADVERSARIAL=""
FALLBACK=""

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$DOCKERD_PID" ]]; then
        for c in "${CONTAINERS[@]}"; do
            docker logs --tail 20 "$c" >"$WORK/$c.log" 2>&1
            docker rm -f "$c" >/dev/null 2>&1
        done
        log "stopping dockerd (pid $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
        log "dockerd stopped"
    fi
    # containerd-shims and mounts left behind by a killed daemon live under $WORK.
    grep -F " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    grep -E '^nsfs ' /proc/mounts | awk '{print $2}' | grep -F "$WORK/" | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    rm -rf "$WORK"
    log "cleaned up; total ${SECONDS}s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -- 1. engine ---------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    log "installing docker.io and debootstrap with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        docker.io debootstrap >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log"; die "apt failed"; }
fi
DOCKER_BIN="$(command -v /usr/bin/docker || command -v docker)"
docker() { timeout "$BUILD_TIMEOUT_S" "$DOCKER_BIN" "$@"; }
export DOCKER_HOST="unix://$WORK/docker.sock" DOCKER_BUILDKIT=0

log "starting dockerd (data under $WORK)"
dockerd --host="$DOCKER_HOST" --data-root="$WORK/data" --exec-root="$WORK/exec" \
    --pidfile="$WORK/dockerd.pid" --storage-driver=overlay2 --iptables=false --ip6tables=false \
    --bridge=none --ip-forward=false --ip-masq=false >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 120); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$WORK/dockerd.log"; die "dockerd exited"; }
    sleep 0.25
done
docker version >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; die "dockerd not ready in 30 s"; }
log "dockerd $(docker version -f '{{.Server.Version}}') ready"

# -- 2. base images ----------------------------------------------------------------------------
mkdir -p "$CACHE"
ROOTFS_TAR="$CACHE/bookworm-minbase-$(echo "$BASE_PACKAGES" | md5sum | cut -c1-8).tar"
if [[ ! -s "$ROOTFS_TAR" ]]; then
    log "debootstrap bookworm minbase + $BASE_PACKAGES (cached afterwards in $CACHE)"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$WORK/rootfs" \
        "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed"; }
    # The image is the environment: let pip install into the system Python (PEP 668 marker).
    rm -f "$WORK"/rootfs/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
    tar -C "$WORK/rootfs" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$WORK/rootfs"
fi
log "importing openenv-base:local from $(basename "$ROOTFS_TAR")"
docker import --change 'ENV LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1' \
    --change 'CMD ["python3"]' "$ROOTFS_TAR" openenv-base:local >/dev/null

NODE_BIN="$(command -v node || true)"
if [[ " ${SERVERS[*]} " == *" node "* ]]; then
    [[ -n "$NODE_BIN" ]] || die "node is not installed on the host (needed for openenv-node-base)"
    node_major="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
    (( node_major >= 20 )) || die "host node is v$node_major; the node base image needs >= 20"
    NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
    [[ -f "$NPM_DIR/bin/npm-cli.js" ]] || die "npm not found next to the host's node"
    mkdir -p "$WORK/node-base"
    cp "$(readlink -f "$NODE_BIN")" "$WORK/node-base/node"
    cp -r "$NPM_DIR" "$WORK/node-base/npm"
    cat >"$WORK/node-base/Dockerfile" <<'DOCKERFILE'
FROM openenv-base:local
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
DOCKERFILE
    log "building openenv-node-base:local (host node v$("$NODE_BIN" -p process.versions.node))"
    docker build -q --network host -t openenv-node-base:local "$WORK/node-base" >/dev/null
fi

# -- 3. wheels ---------------------------------------------------------------------------------
WHEELS="$WORK/wheels"
mkdir -p "$WHEELS" "$CACHE/wheels"
log "building the SDK wheel and fetching its dependency wheels"
"$VENV/bin/pip" wheel -q --no-deps --disable-pip-version-check "$REPO/python-sdk" -w "$WHEELS" \
    >"$WORK/pip.log" 2>&1 || { tail -20 "$WORK/pip.log"; die "SDK wheel build failed"; }
"$VENV/bin/pip" freeze --exclude-editable --disable-pip-version-check >"$WORK/constraints.txt"
SDK_WHEEL="$(ls "$WHEELS"/openenv-*.whl)"
"$VENV/bin/pip" download -q --disable-pip-version-check --only-binary=:all: \
    --python-version 3.11 --implementation cp --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -c "$WORK/constraints.txt" -d "$CACHE/wheels" "$SDK_WHEEL" >>"$WORK/pip.log" 2>&1 \
    || { tail -20 "$WORK/pip.log"; die "pip download of the SDK's dependencies failed"; }
find "$CACHE/wheels" -name '*.whl' ! -name 'openenv-*' -exec cp {} "$WHEELS/" \;
SDK_VERSION="$(basename "$SDK_WHEEL" | cut -d- -f2)"
log "wheels: $(ls "$WHEELS" | wc -l) files, openenv $SDK_VERSION"

if [[ ${#EXEC[@]} -gt 0 ]]; then
    log "running: ${EXEC[*]}"
    exec_rc=0
    OPENENV_BASE_IMAGE=openenv-base:local OPENENV_WHEELS="$WHEELS" OPENENV_VERSION="$SDK_VERSION" \
        "${EXEC[@]}" || exec_rc=$?
    log "command exited with $exec_rc"
    exit "$exec_rc"
fi

# -- 4. per server ------------------------------------------------------------------------------
free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

build_image() {  # name -> image openenv/<name>:local
    local name=$1 ctx="$WORK/ctx/$1" t0=$SECONDS
    if [[ ! -f "$SERVERS_DIR/$name/Dockerfile" ]]; then
        RESULT[$name]="SKIP (no Dockerfile)"; return 0
    fi
    if [[ $name == node ]]; then
        # The Dockerfile's context contract: `npm ci --cache .npm-cache && npm run build` done on
        # the host. Done on a copy (the source tree is left alone); npm's cache persists in $CACHE.
        mkdir -p "$ctx" "$CACHE/npm-cache"
        tar -C "$SERVERS_DIR/node" --exclude=node_modules --exclude=dist --exclude=.npm-cache \
            -cf - . | tar -C "$ctx" -xf -
        cp -r "$CACHE/npm-cache" "$ctx/.npm-cache"
        if ! (cd "$ctx" && timeout "$BUILD_TIMEOUT_S" npm ci --cache .npm-cache --prefer-offline \
                --no-audit --no-fund && timeout "$BUILD_TIMEOUT_S" npm run -s build) \
                >"$WORK/node-build.log" 2>&1; then
            tail -20 "$WORK/node-build.log" >&2
            RESULT[$name]="FAIL (npm ci / npm run build)"; return 1
        fi
        cp -r "$ctx/.npm-cache/." "$CACHE/npm-cache/"
    else
        mkdir -p "$ctx"
        tar -C "$SERVERS_DIR/$name" --exclude=tests --exclude=__pycache__ -cf - . | tar -C "$ctx" -xf -
        cp -r "$WHEELS" "$ctx/wheels"
    fi
    log "building openenv/$name:local"
    if ! docker build --network host --build-arg "OPENENV_VERSION=$SDK_VERSION" \
        -t "openenv/$name:local" "$ctx" >"$WORK/build-$name.log" 2>&1; then
        tail -25 "$WORK/build-$name.log" >&2
        RESULT[$name]="FAIL (docker build)"; return 1
    fi
    BUILD_S[$name]=$((SECONDS - t0))
    IMAGE_MB[$name]=$(( $(docker image inspect -f '{{.Size}}' "openenv/$name:local") / 1048576 ))
}

start_container() {
    local name=$1 port
    port=$(free_port)
    PORT[$name]=$port
    local -a opts=()
    [[ $name == python_exec_env ]] && opts=("${PYEXEC_RUN_OPTS[@]}")
    docker run -d --name "oe-$name" --network host -e HOST=127.0.0.1 -e "PORT=$port" "${opts[@]}" \
        "openenv/$name:local" >/dev/null || { RESULT[$name]="FAIL (docker run)"; return 1; }
    CONTAINERS+=("oe-$name")
    log "started oe-$name on 127.0.0.1:$port"
}

wait_healthy() {
    local name=$1 t0=$SECONDS status
    while (( SECONDS - t0 < HEALTH_TIMEOUT_S )); do
        status=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "oe-$name")
        case $status in
            "running healthy") HEALTH_S[$name]=$((SECONDS - t0)); return 0 ;;
            "running none") RESULT[$name]="FAIL (image has no HEALTHCHECK)"; return 1 ;;
            running*) sleep 0.5 ;;
            *) docker logs --tail 20 "oe-$name" >&2; RESULT[$name]="FAIL (container $status)"; return 1 ;;
        esac
    done
    docker logs --tail 20 "oe-$name" >&2
    RESULT[$name]="FAIL (not healthy in ${HEALTH_TIMEOUT_S}s)"; return 1
}

certify() {
    local name=$1 url="http://127.0.0.1:${PORT[$1]}" out
    mkdir -p "$REPORTS/$name"
    log "certifying $name at $url (profiles $PROFILES)"
    if [[ -x "$VENV/bin/openenv-conformance" ]]; then
        if out=$(timeout "$CERTIFY_TIMEOUT_S" "$VENV/bin/openenv-conformance" run "$url" \
            --profile "$PROFILES" --report-dir "$REPORTS/$name" --quiet 2>&1); then
            RESULT[$name]="PASS ($(head -1 <<<"$out" | sed -E 's/^target [^ ]+: //'))"
        else
            printf '%s\n' "$out" | tail -25 >&2
            RESULT[$name]="FAIL (conformance: $(head -1 <<<"$out" | sed -E 's/^target [^ ]+: //'))"
            return 1
        fi
    else  # harness not installed: an SDK client smoke test instead
        if out=$(timeout 60 "$VENV/bin/python" - "$url" <<'PY' 2>&1
import asyncio, sys
from openenv.client import GenericEnvClient
async def main(url: str) -> None:
    async with GenericEnvClient(url) as client:
        result = await client.reset()
        print("reset ok", type(result.observation).__name__)
asyncio.run(main(sys.argv[1]))
PY
        ); then RESULT[$name]="PASS (SDK smoke test; no conformance harness)"
        else printf '%s\n' "$out" >&2; RESULT[$name]="FAIL (SDK smoke test)"; return 1; fi
    fi
}

adversarial() {  # issue 16's probes against the python_exec_env container
    local url="http://127.0.0.1:${PORT[python_exec_env]}" out rc=0
    log "adversarial probes against python_exec_env at $url"
    out=$(cd "$REPO" && OPENENV_PYEXEC_URL="$url" OPENENV_PYEXEC_SOURCE=/app/python_exec_env/sandbox.py \
        timeout "$CERTIFY_TIMEOUT_S" "$VENV/bin/python" -m pytest -q \
        reference-servers/python_exec_env/tests/test_adversarial.py -k external -rA 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -E '^(PASSED|FAILED|SKIPPED|ERROR) ' >&2 || true
    ADVERSARIAL="$(tail -1 <<<"$out")"
    if (( rc != 0 )); then
        printf '%s\n' "$out" | tail -40 >&2
        RESULT[python_exec_env]="FAIL (adversarial probes: $ADVERSARIAL)"; return 1
    fi
    # The same image under Docker's default profile: no namespaces, and the report must say so.
    local port; port=$(free_port)
    docker run -d --name oe-pyexec-default --network host -e HOST=127.0.0.1 -e "PORT=$port" \
        openenv/python_exec_env:local >/dev/null || { RESULT[python_exec_env]="FAIL (default run)"; return 1; }
    CONTAINERS+=(oe-pyexec-default)
    for _ in $(seq 1 120); do
        [[ $(docker inspect -f '{{.State.Health.Status}}' oe-pyexec-default) == healthy ]] && break
        sleep 0.5
    done
    FALLBACK=$(timeout 60 "$VENV/bin/python" - "http://127.0.0.1:$port" <<'PY' 2>&1
import json, sys
from openenv import GenericSyncEnvClient
with GenericSyncEnvClient(sys.argv[1]) as client:
    isolation = client.reset().observation["metadata"]["isolation"]
print(json.dumps(isolation, sort_keys=True))
weak = isolation["filesystem"] == "none" and isolation["sessions"] == "readable"
sys.exit(0 if weak and isolation["network"] == "host" else 3)
PY
    ) || { RESULT[python_exec_env]="FAIL (default-profile isolation report: $FALLBACK)"; return 1; }
}

failed=0
for name in "${SERVERS[@]}"; do build_image "$name" || failed=1; done
for name in "${SERVERS[@]}"; do
    [[ -z "${RESULT[$name]:-}" ]] && { start_container "$name" || failed=1; }
done
for name in "${SERVERS[@]}"; do
    [[ -z "${RESULT[$name]:-}" ]] && { wait_healthy "$name" || failed=1; }
done
for name in "${SERVERS[@]}"; do
    [[ -z "${RESULT[$name]:-}" ]] && { certify "$name" || failed=1; }
done
if [[ " ${SERVERS[*]} " == *" python_exec_env "* && ${RESULT[python_exec_env]:-} == PASS* ]]; then
    adversarial || failed=1
fi

echo "== docker reference servers ($(date -u +%FT%TZ), dockerd $(docker version -f '{{.Server.Version}}'))"
printf '%-16s %-8s %-9s %-9s %s\n' server build_s image_mb health_s result
for name in "${SERVERS[@]}"; do
    printf '%-16s %-8s %-9s %-9s %s\n' "$name" "${BUILD_S[$name]:--}" "${IMAGE_MB[$name]:--}" \
        "${HEALTH_S[$name]:--}" "${RESULT[$name]:-FAIL (not run)}"
done
[[ -n "$ADVERSARIAL" ]] && echo "adversarial (python_exec_env container): $ADVERSARIAL"
[[ -n "$FALLBACK" ]] && echo "fallback report (python_exec_env, Docker's default profile): $FALLBACK"
echo "== total ${SECONDS}s; reports in $REPORTS"
exit "$failed"
