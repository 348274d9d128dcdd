#!/usr/bin/env bash
# Starts PostgreSQL, MariaDB and RabbitMQ when they are installed but stopped, so that
# the database and bus tests run on all backends; a backend that is absent stays absent
# and its tests skip with the reason. Never fails the test run by itself.
set -u

up() { # host port
    python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

wait_up() { # port name
    for _ in $(seq 1 30); do up 127.0.0.1 "$1" && return 0; sleep 1; done
    echo "services: $2 did not come up on port $1" >&2
}

if ! up 127.0.0.1 5432 && command -v pg_ctlcluster >/dev/null; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_up 5432 PostgreSQL
fi
if ! up 127.0.0.1 3306 && [ -x /usr/sbin/mariadbd ]; then
    echo "services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    wait_up 3306 MariaDB
fi
if ! up 127.0.0.1 5672 && command -v rabbitmq-server >/dev/null; then
    echo "services: starting RabbitMQ"
    rabbitmq-server -detached || true
    wait_up 5672 RabbitMQ
fi
exit 0
