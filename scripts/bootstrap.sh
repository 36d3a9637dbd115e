#!/usr/bin/env bash
# Set up everything o2o-edge needs on a fresh Debian machine with Python 3.11:
# system packages (apt-get, as root), the services the tests use, and ./.venv.
# Idempotent: a second run only checks. Usage: scripts/bootstrap.sh [--services] [--browser]
# (--browser: Debian's Chromium for the browser tests; --services installs it too)
set -euo pipefail
cd "$(dirname "$0")/.."

want_services=0
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --services) want_services=1; want_browser=1 ;;
    --browser) want_browser=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: need root to install $*" >&2; return 1
  fi
  if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

python_bin=$(command -v python3.11 || command -v python3)
if ! "$python_bin" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv python3-dev
fi

if [ $want_services = 1 ]; then
  command -v mosquitto >/dev/null || apt_install mosquitto
  if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    echo "bootstrap: starting Mosquitto"
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
  fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    version=$(ls /etc/postgresql)
    # Tests connect over TCP as postgres without a password, as on the CI machine.
    sed -i 's/^\(host.*127.0.0.1\/32\s*\)\S*$/\1trust/' "/etc/postgresql/$version/main/pg_hba.conf"
    # The package may have started the cluster already: make it read the new rule.
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
  fi
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    echo "bootstrap: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  fi
  for _ in $(seq 1 30); do
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
    sleep 1
  done
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    su postgres -c "createdb test" 2>/dev/null || psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null
  fi
fi

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`:
# its browser download needs the internet); a CJK font so the Chinese UI renders.
if [ $want_browser = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium fonts-wqy-microhei
fi

if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# face_recognition declares `dlib`, which would compile; dlib-bin (installed above) provides it.
.venv/bin/python -m pip install -q --no-deps 'face-recognition>=1.3'
echo "bootstrap: ready ($(.venv/bin/python --version))"
