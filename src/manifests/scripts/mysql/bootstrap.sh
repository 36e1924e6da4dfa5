#!/bin/sh
# Run by the plugin (exec in init container "data") on the first primary only: initialise an
# empty data directory (mysqld makes the TLS certificates and RSA keys there), set the passwords
# from the mounted Secret, create the accounts. Safe to repeat: an initialised data directory
# is left alone.
set -eu
D=/var/lib/mysql
S=/etc/mysqlha/secret
CNF=/etc/mysqlha/run/my.cnf
OP=${0%/*}
trap 'case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac' EXIT
SOCK=$OP/bootstrap.sock
if [ -d "$D/mysql" ] && [ ! -e "$D/.mysqlha-incomplete" ]; then
  echo "already initialised"; exit 0
fi
. "$OP/check-secret.sh"
# The mark first: the pod's data container waits until the data directory is complete.
# (mysqld --initialize wants an empty directory: it works in one beside the mark, on the same
# volume, and its result moves up by rename.)
touch "$D/.mysqlha-incomplete"
find "$D" -mindepth 1 ! -name .mysqlha-incomplete -delete
mysqld --defaults-file="$CNF" --initialize-insecure --user=mysql --datadir="$D/.mysqlha-init" >"$OP/initialize.log" 2>&1 \
  || { tail -n 20 "$OP/initialize.log" >&2; exit 1; }
find "$D/.mysqlha-init" -mindepth 1 -maxdepth 1 -exec mv {} "$D/" \;
rmdir "$D/.mysqlha-init"
mysqld --defaults-file="$CNF" --skip-networking --skip-log-bin --socket="$SOCK" \
  --pid-file="$OP/bootstrap.pid" >"$OP/bootstrap.log" 2>&1 &
pid=$!
i=0
until mysqladmin --socket="$SOCK" -uroot ping >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 120 ] || { tail -n 20 "$OP/bootstrap.log" >&2; exit 1; }; sleep 0.5
done
root_pw=$(cat "$S/root-password")
repl_pw=$(cat "$S/replication-password")
# A cluster with certificates: replicas and clone recipients prove themselves with a certificate
# of the cluster's CA; the password alone lets no one replicate or clone.
repl_tls="REQUIRE SSL"
[ -f "$S/tls-ca.crt" ] && repl_tls="REQUIRE X509"
# mysql@localhost (socket only, no password: the OS user of the container) is the plugin's own
# account inside the pod. Replicas run super_read_only: no account writes there. Replication
# and clones need TLS (REQUIRE SSL); repl may also serve clones (BACKUP_ADMIN on the donor).
mysql --socket="$SOCK" -uroot <<SQL
SET sql_log_bin = 0;
CREATE USER mysql@localhost IDENTIFIED WITH auth_socket;
GRANT ALL PRIVILEGES ON *.* TO mysql@localhost WITH GRANT OPTION;
ALTER USER root@localhost IDENTIFIED BY '$root_pw';
CREATE USER root@'%' IDENTIFIED BY '$root_pw';
GRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;
CREATE USER repl@'%' IDENTIFIED BY '$repl_pw' $repl_tls;
GRANT REPLICATION SLAVE, REPLICATION CLIENT, BACKUP_ADMIN ON *.* TO repl@'%';
SQL
mysqladmin --socket="$SOCK" -umysql shutdown
wait $pid || true
echo "initialised"
trap - EXIT
case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac
# Last: once the mark is gone the data container ends, and with it anything still running there.
exec rm -f "$D/.mysqlha-incomplete"
