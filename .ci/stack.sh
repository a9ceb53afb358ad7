#!/usr/bin/env bash
# Starts and stops Doorman's local AWS stack: DynamoDB Local (the jar shipped in the
# npm package amplify-dynamodb-simulator, on Java 17) and aws-ses-v2-local, on loopback.
#
#   .ci/stack.sh up      start what is not running, wait until it answers, create the table
#   .ci/stack.sh down    stop exactly the processes `up` started (by their recorded PIDs)
#   .ci/stack.sh status  say what runs
#   .ci/stack.sh env     print the environment a client needs (eval-able)
#   .ci/stack.sh browser install Debian's Chromium for the browser test, when absent
#
# Settings (environment): DDB_PORT (8000), SES_PORT (8005), STACK_DIR (.stack),
# TABLE_NAME (doorman-local). Two checkouts run side by side with other ports.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DDB_PORT=${DDB_PORT:-8000}
SES_PORT=${SES_PORT:-8005}
STACK_DIR=${STACK_DIR:-$root/.stack}
TABLE_NAME=${TABLE_NAME:-doorman-local}
emulator=$root/node_modules/amplify-dynamodb-simulator/emulator

say() { printf 'stack: %s\n' "$*" >&2; }

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_java() {
  if java -version >/dev/null 2>&1; then return; fi
  say "java not found: installing openjdk-17-jre-headless"
  apt_install openjdk-17-jre-headless
}

ensure_browser() {
  if [ -x /usr/bin/chromium ]; then return; fi
  say "chromium not found: installing Debian's chromium for the browser test"
  apt_install chromium
}

ensure_node_modules() {
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
    || [ ! -f "$emulator/DynamoDBLocal.jar" ] || [ ! -x node_modules/.bin/aws-ses-v2-local ]; then
    say "installing the pinned Node tools (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
}

# alive NAME: the recorded PID runs and is still the process we started.
alive() {
  local pidfile=$STACK_DIR/$1.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # /proc/PID/cmdline separates arguments with NULs.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cat "$STACK_DIR/$1.mark")"
}

port_answers() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" ; }

wait_for() { # NAME PORT
  local i
  for i in $(seq 1 120); do
    if port_answers "$2"; then return 0; fi
    if ! alive "$1"; then
      say "$1 exited while starting; its log:"; tail -n 30 "$STACK_DIR/$1.log" >&2; return 1
    fi
    sleep 0.5
  done
  say "$1 did not answer on port $2 within 60 s; its log:"; tail -n 30 "$STACK_DIR/$1.log" >&2
  return 1
}

start() { # NAME PORT MARK CMD...
  local name=$1 port=$2 mark=$3; shift 3
  if alive "$name"; then
    say "$name already running (pid $(cat "$STACK_DIR/$name.pid"), port $port)"
    return 0
  fi
  rm -f "$STACK_DIR/$name.pid" "$STACK_DIR/$name.mark"   # stale
  if port_answers "$port"; then
    say "port $port is taken by a process this stack did not start; set ${name^^}_PORT"
    return 1
  fi
  printf '%s' "$mark" >"$STACK_DIR/$name.mark"
  # Started from STACK_DIR, so that files an emulator writes beside itself stay there.
  (cd "$STACK_DIR" && exec setsid "$@" >"$name.log" 2>&1 </dev/null) &
  echo $! >"$STACK_DIR/$name.pid"
  wait_for "$name" "$port"
  say "$name up on 127.0.0.1:$port (pid $(cat "$STACK_DIR/$name.pid"))"
}

up() {
  mkdir -p "$STACK_DIR"
  ensure_java
  ensure_node_modules
  start ddb "$DDB_PORT" "-port $DDB_PORT" \
    java -Xmx512m -Djava.library.path="$emulator/DynamoDBLocal_lib" -jar "$emulator/DynamoDBLocal.jar" \
    -inMemory -sharedDb -port "$DDB_PORT"
  start ses "$SES_PORT" "--port $SES_PORT" \
    node "$root/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$SES_PORT"
  eval "$(env_lines)"
  go run ./functions/local create-table >&2
}

stop() { # NAME
  local name=$1 pid i
  if alive "$name"; then
    pid=$(cat "$STACK_DIR/$name.pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    say "$name stopped (pid $pid)"
  fi
  rm -f "$STACK_DIR/$name.pid" "$STACK_DIR/$name.mark"
}

env_lines() {
  cat <<EOT
export DYNAMODB_ENDPOINT=http://127.0.0.1:$DDB_PORT
export SES_ENDPOINT=http://127.0.0.1:$SES_PORT
export TABLE_NAME=$TABLE_NAME
export AWS_REGION=\${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-local}
export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-local}
EOT
}

case "${1:-}" in
  up) up ;;
  down) stop ses; stop ddb ;;
  status)
    for n in ddb ses; do
      if alive "$n"; then echo "$n: running (pid $(cat "$STACK_DIR/$n.pid"))"; else echo "$n: stopped"; fi
    done ;;
  env) env_lines ;;
  browser) ensure_browser ;;
  *) echo "usage: $0 up|down|status|env|browser" >&2; exit 2 ;;
esac
