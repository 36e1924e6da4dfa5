#!/bin/sh
# Run by the plugin (exec in init container "data"): fill the empty data directory with a clone
# of DONOR (host:port), taken by MySQL's clone plugin over TLS. A throw-away mysqld in this
# operation's workspace runs the CLONE into a new directory of the member's volume (CLONE ...
# DATA DIRECTORY; it loads the members' plugins, which a clone requires), so the
# member's own server never runs on partial data; the clone then moves into place. The
# replication password arrives on stdin (never in a process list). The clone carries the
# donor's gtid_executed: the new member replicates from there by auto-position.
set -eu
DONOR=$1
OP=${0%/*}
D=/var/lib/mysql
. "$OP/stop-stale.sh"
stop_stale
IFS= read -r repl_pw
case $repl_pw in '' | *[!A-Za-z0-9]*) echo "unusable replication password" >&2; exit 1 ;; esac
touch "$D/.mysqlha-incomplete"
find "$D" -mindepth 1 ! -name .mysqlha-incomplete -delete
T=$OP/scratch
SOCK=$OP/clone.sock
mysqld --no-defaults --initialize-insecure --user=mysql --datadir="$T" \
  --secure-file-priv="$OP" >"$OP/initialize.log" 2>&1 || { tail -n 20 "$OP/initialize.log" >&2; exit 1; }
mysqld --no-defaults --datadir="$T" --socket="$SOCK" --pid-file="$OP/scratch.pid" \
  --skip-networking --mysqlx=OFF --secure-file-priv="$OP" --skip-log-bin \
  '--plugin-load-add=mysql_clone.so;semisync_source.so;semisync_replica.so;auth_socket.so' \
  >"$OP/scratch.log" 2>&1 &
pid=$!
echo $pid >"$OP/mysqld.pid"
i=0
until mysqladmin --socket="$SOCK" -uroot ping >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 120 ] || { tail -n 20 "$OP/scratch.log" >&2; exit 1; }; sleep 0.5
done
host=${DONOR%:*}
port=${DONOR##*:}
if ! mysql --socket="$SOCK" -uroot <<SQL
SET GLOBAL clone_valid_donor_list = '$host:$port';
CLONE INSTANCE FROM 'repl'@'$host':$port IDENTIFIED BY '$repl_pw' DATA DIRECTORY = '$D/.mysqlha-clone' REQUIRE SSL;
SQL
then
  mysqladmin --socket="$SOCK" -uroot shutdown >/dev/null 2>&1 || true
  exit 1
fi
mysqladmin --socket="$SOCK" -uroot shutdown
wait $pid || true
# The clone went into the member's own volume: moving it up is a rename. It lacks auto.cnf
# (this member makes its own server_uuid) and TLS files (made at the first start).
find "$D/.mysqlha-clone" -mindepth 1 -maxdepth 1 -exec mv {} "$D/" \;
rmdir "$D/.mysqlha-clone"
echo "cloned from $DONOR"
case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac
# Last: once the mark is gone the data container ends, and with it anything still running there.
exec rm -f "$D/.mysqlha-incomplete"
