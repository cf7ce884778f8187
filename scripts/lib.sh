# Shared by scripts/run and scripts/test: find or start the services Call Assistant needs.
# Sourced, not run. Every step says what it does; every failure says what to do.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRIVATE_PG_PORT="${PRIVATE_PG_PORT:-54329}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install it yourself, or run as root)"; fi
}

apt_install() {
  command -v apt-get >/dev/null || die "cannot install $*: no apt-get here. Install it yourself, or set the URL of a running server."
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Whether we can log in to PostgreSQL at host:port as user (needs psql).
pg_login_works() {
  command -v psql >/dev/null || return 1
  PGCONNECT_TIMEOUT=3 psql -h "$1" -p "$2" -U "$3" -d postgres -Atqc 'select 1' >/dev/null 2>&1 </dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# A private cluster in the project's data folder, on PRIVATE_PG_PORT, trust auth on 127.0.0.1.
start_private_postgres() {
  local bin data owner
  bin="$(pg_bin_dir)"
  if [ -z "$bin" ]; then apt_install postgresql; bin="$(pg_bin_dir)"; fi
  [ -n "$bin" ] || die "PostgreSQL was not found after installing it"
  data="$PROJECT_ROOT/.data/postgres"
  owner="$(id -un)"
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root: the cluster belongs to the 'postgres' system user,
    # which must be able to reach the data folder.
    id postgres >/dev/null 2>&1 || die "no 'postgres' system user (is Debian's postgresql installed?)"
    owner=postgres
    mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
    if ! runuser -u postgres -- test -w "$data"; then
      data="/var/lib/postgresql/callassist-$(printf '%s' "$PROJECT_ROOT" | md5sum | cut -c1-8)"
      say "the postgres user cannot reach $PROJECT_ROOT/.data; using $data instead"
      mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
    fi
  else
    mkdir -p "$data" && chmod 700 "$data"
  fi
  run_pg() { if [ "$owner" = "$(id -un)" ]; then "$@"; else runuser -u "$owner" -- "$@"; fi; }
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $data"
    run_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! run_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "starting the private PostgreSQL on 127.0.0.1:$PRIVATE_PG_PORT"
    run_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $PRIVATE_PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data" start >/dev/null \
      || die "PostgreSQL did not start; see $data/server.log"
  fi
  PG_SERVER_URL="postgres://postgres@127.0.0.1:$PRIVATE_PG_PORT"
}

# Sets PG_SERVER_URL (no database name) from DATABASE_URL, a local server, or a private one.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    say "using PostgreSQL from DATABASE_URL"
    PG_SERVER_URL=""
    return
  fi
  if port_open 127.0.0.1 5432; then
    if ! command -v psql >/dev/null; then apt_install postgresql-client || true; fi
    local user
    for user in "${PGUSER:-postgres}" postgres "$(id -un)"; do
      if pg_login_works 127.0.0.1 5432 "$user"; then
        say "using the PostgreSQL already listening on 127.0.0.1:5432 (user $user)"
        PG_SERVER_URL="postgres://$user@127.0.0.1:5432"
        return
      fi
    done
    say "a PostgreSQL listens on 5432 but does not let us in without a password; starting a private one"
  fi
  start_private_postgres
}

RABBITMQ_LOCAL_URL="amqp://guest:guest@127.0.0.1:5672/%2f"

# Sets and exports AMQP_URL: from the environment, a RabbitMQ already listening on 127.0.0.1:5672
# (as guest/guest, which RabbitMQ allows from localhost), or Debian's rabbitmq-server, installed
# when missing and started in the background.
ensure_rabbitmq() {
  if [ -n "${AMQP_URL:-}" ]; then
    say "using RabbitMQ from AMQP_URL"
    export AMQP_URL
    return
  fi
  if port_open 127.0.0.1 5672; then
    say "using the RabbitMQ already listening on 127.0.0.1:5672 (user guest)"
    export AMQP_URL="$RABBITMQ_LOCAL_URL"
    return
  fi
  # Debian puts the server and rabbitmqctl in /usr/sbin, which a user's PATH may lack.
  PATH="$PATH:/usr/sbin"
  if ! command -v rabbitmq-server >/dev/null; then apt_install rabbitmq-server; fi
  command -v rabbitmq-server >/dev/null || die "rabbitmq-server was not found after installing it"
  # Installing may have started it already (where a service manager runs).
  if ! port_open 127.0.0.1 5672; then
    say "starting RabbitMQ (rabbitmq-server -detached)"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  local waited=0
  until port_open 127.0.0.1 5672; do
    if [ "$waited" -ge 90 ]; then
      die "RabbitMQ did not open 127.0.0.1:5672 within 90 s; see /var/log/rabbitmq/ (or start a broker yourself and set AMQP_URL)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  if command -v rabbitmqctl >/dev/null; then
    as_root rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1 \
      || die "RabbitMQ listens on 5672 but did not finish starting; see /var/log/rabbitmq/"
  fi
  say "RabbitMQ is up on 127.0.0.1:5672"
  export AMQP_URL="$RABBITMQ_LOCAL_URL"
}

REDIS_LOCAL_URL="redis://127.0.0.1:6379"

# Sets and exports REDIS_URL: from the environment, a Redis already listening on 127.0.0.1:6379,
# or Debian's redis-server, installed when missing and started in the background (its data
# and log in the project's data folder). Only the tests need it: scripts/run works without.
ensure_redis() {
  if [ -n "${REDIS_URL:-}" ]; then
    say "using Redis from REDIS_URL"
    export REDIS_URL
    return
  fi
  if port_open 127.0.0.1 6379; then
    say "using the Redis already listening on 127.0.0.1:6379"
    export REDIS_URL="$REDIS_LOCAL_URL"
    return
  fi
  # Debian puts redis-server in /usr/bin, but keep /usr/sbin in reach as for RabbitMQ.
  PATH="$PATH:/usr/sbin"
  if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  command -v redis-server >/dev/null || die "redis-server was not found after installing it"
  # Installing may have started it already (where a service manager runs).
  if ! port_open 127.0.0.1 6379; then
    local data="$PROJECT_ROOT/.data/redis"
    mkdir -p "$data"
    say "starting Redis on 127.0.0.1:6379 (redis-server --daemonize yes, data in $data)"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --dir "$data" \
      --logfile "$data/redis.log" >/dev/null \
      || die "Redis did not start; see $data/redis.log (or start one yourself and set REDIS_URL)"
  fi
  local waited=0
  until port_open 127.0.0.1 6379; do
    if [ "$waited" -ge 30 ]; then
      die "Redis did not open 127.0.0.1:6379 within 30 s; see $PROJECT_ROOT/.data/redis/redis.log (or set REDIS_URL)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "Redis is up on 127.0.0.1:6379"
  export REDIS_URL="$REDIS_LOCAL_URL"
}

# Reads DATABASE_URL from .env when the environment does not set it.
database_url_from_dotenv() {
  if [ -z "${DATABASE_URL:-}" ] && [ -f "$PROJECT_ROOT/.env" ]; then
    local line
    line="$(grep -E '^DATABASE_URL=' "$PROJECT_ROOT/.env" | tail -n 1 || true)"
    if [ -n "$line" ]; then export DATABASE_URL="${line#DATABASE_URL=}"; fi
  fi
}

require_cargo() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (https://rustup.rs), then run this again"
}
