#!/bin/sh
# Run by the plugin (exec in init container "data"): fill the empty data directory with a clone
# of DONOR (host:port), taken by MySQL's clone plugin over TLS. A throw-away mysqld (in
# /tmp/mysqlha-scratch of this container) runs the CLONE into a new directory of the member's
# volume (CLONE ... DATA DIRECTORY; it loads the members' plugins, which a clone requires), so
# the member's own server never runs on partial data; the clone then moves into place. The
# replication password arrives on stdin (never in a process list). The clone carries the
# donor's gtid_executed: the new member replicates from there by auto-position.
# `clone.sh --prepare` only starts the throw-away server (initialising it takes most of a
# small clone's time): the plugin runs it before it takes a stream from a donor, so a donor
# serves one CLONE after another without waiting for each recipient's server to start. A
# clone without it starts the server itself.
set -eu
OP=${0%/*}
D=/var/lib/mysql
S=/tmp/mysqlha-scratch
SOCK=$S/clone.sock
. "$OP/stop-stale.sh"
stop_stale
# Recorded so that a later operation for this target ends this one if its plugin is gone: a
# command exec'd in a pod outlives its connection, and would race the next clone.
echo $$ >"$OP/clone.pid"
scratch_answers() { mysqladmin --socket="$SOCK" -uroot ping >/dev/null 2>&1; }
# A throw-away server that a prepare left ready and no clone has used yet is taken as it is.
scratch_ready() { [ -e "$S/prepared" ] && scratch_answers; }
# Starts the throw-away server afresh. Whatever an interrupted start or clone left there is
# ended first: every mysqld of this container whose command line names the scratch directory
# (a server, or an initialisation still running; a CLONE still running in one would make the
# next one fail).
scratch_fresh() {
  for proc in /proc/[0-9]*; do
    [ "$(cat "$proc/comm" 2>/dev/null)" = mysqld ] || continue
    tr '\000' ' ' <"$proc/cmdline" 2>/dev/null | grep -qF -- "$S/" && kill -9 "${proc#/proc/}" 2>/dev/null
  done
  rm -rf "$S"
  mkdir -m 700 "$S"
  mysqld --no-defaults --initialize-insecure --user=mysql --datadir="$S/data" \
    --secure-file-priv="$S" >"$S/initialize.log" 2>&1 || { tail -n 20 "$S/initialize.log" >&2; return 1; }
  # Detached from this exec: a prepare's server outlives it, until the clone stops it.
  nohup mysqld --no-defaults --datadir="$S/data" --socket="$SOCK" --pid-file="$S/scratch.pid" \
    --skip-networking --mysqlx=OFF --secure-file-priv="$S" --skip-log-bin \
    '--plugin-load-add=mysql_clone.so;semisync_source.so;semisync_replica.so;auth_socket.so' \
    >"$S/scratch.log" 2>&1 </dev/null &
  i=0
  until scratch_answers; do
    i=$((i + 1)); [ $i -lt 120 ] || { tail -n 20 "$S/scratch.log" >&2; return 1; }; sleep 0.5
  done
}
# Stops the throw-away server and waits until it has (its pid file goes with it).
scratch_stop() {
  mysqladmin --socket="$SOCK" -uroot shutdown >/dev/null 2>&1 || true
  i=0
  while [ -e "$S/scratch.pid" ] && [ $i -lt 120 ]; do i=$((i + 1)); sleep 0.5; done
  rm -rf "$S"
}
drop_workspace() { case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac; }
if [ "${1:-}" = --prepare ]; then
  scratch_ready || scratch_fresh
  touch "$S/prepared"
  echo "clone recipient prepared"
  drop_workspace
  exit 0
fi
DONOR=$1
IFS= read -r repl_pw
case $repl_pw in '' | *[!A-Za-z0-9]*) echo "unusable replication password" >&2; exit 1 ;; esac
touch "$D/.mysqlha-incomplete"
find "$D" -mindepth 1 ! -name .mysqlha-incomplete -delete
scratch_ready || scratch_fresh
rm -f "$S/prepared"
host=${DONOR%:*}
port=${DONOR##*:}
# A cluster with certificates: the donor's is verified against the cluster's CA, and this
# member's own goes with the clone's connection (the repl account requires one).
tls=""
files=/etc/mysqlha/run/tls
if [ -f "$files/ca.crt" ]; then
  tls="SET GLOBAL clone_ssl_ca = '$files/ca.crt';
SET GLOBAL clone_ssl_cert = '$files/server.crt';
SET GLOBAL clone_ssl_key = '$files/server.key';"
fi
if ! mysql --socket="$SOCK" -uroot <<SQL
$tls
SET GLOBAL clone_valid_donor_list = '$host:$port';
CLONE INSTANCE FROM 'repl'@'$host':$port IDENTIFIED BY '$repl_pw' DATA DIRECTORY = '$D/.mysqlha-clone' REQUIRE SSL;
SQL
then
  scratch_stop
  exit 1
fi
scratch_stop
# The clone went into the member's own volume: moving it up is a rename. It lacks auto.cnf
# (this member makes its own server_uuid) and TLS files (made at the first start).
find "$D/.mysqlha-clone" -mindepth 1 -maxdepth 1 -exec mv {} "$D/" \;
rmdir "$D/.mysqlha-clone"
echo "cloned from $DONOR"
drop_workspace
# Last: once the mark is gone the data container ends, and with it anything still running there.
exec rm -f "$D/.mysqlha-incomplete"
