#!/bin/sh
# Run by the plugin (exec in init container "data") on the first primary only: initialise an
# empty data directory, set the passwords from the mounted Secret, create the accounts.
# Safe to repeat: an initialised data directory is left alone.
set -eu
D=/var/lib/mysql
S=/etc/mysqlha/secret
CNF=/etc/mysqlha/run/my.cnf
OP=${0%/*}
# This operation's workspace (the directory of this script) goes whatever happens.
trap 'case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac' EXIT
SOCK=/tmp/bootstrap.sock
if [ -d "$D/mysql" ] && [ ! -e "$D/.mysqlha-incomplete" ]; then
  echo "already initialised"; exit 0
fi
. "$OP/check-secret.sh"
find "$D" -mindepth 1 -delete
touch "$D/.mysqlha-incomplete"
mariadb-install-db --defaults-file="$CNF" --datadir="$D" \
  --auth-root-authentication-method=socket --auth-root-socket-user=mysql --skip-test-db >/tmp/install-db.log 2>&1 \
  || { cat /tmp/install-db.log >&2; exit 1; }
mariadbd --defaults-file="$CNF" --skip-networking --skip-log-bin --socket="$SOCK" >/tmp/bootstrap.log 2>&1 &
pid=$!
i=0
until mariadb-admin --socket="$SOCK" -umysql ping >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 120 ] || { cat /tmp/bootstrap.log >&2; exit 1; }; sleep 0.5
done
root_pw=$(cat "$S/root-password")
repl_pw=$(cat "$S/replication-password")
# A cluster with certificates: replicas prove themselves with a certificate of the cluster's CA
# (and so connect over TLS); the password alone lets no one replicate.
repl_tls=""
[ -f "$S/tls-ca.crt" ] && repl_tls=" REQUIRE X509"
# Root may do everything but write through read_only: READ_ONLY ADMIN is kept only by the
# socket-authenticated mysql@localhost account that the plugin itself uses inside the pod.
mariadb --socket="$SOCK" -umysql <<SQL
SET sql_log_bin = 0;
DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)';
ALTER USER root@localhost IDENTIFIED BY '$root_pw';
CREATE USER root@'%' IDENTIFIED BY '$root_pw';
GRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;
REVOKE READ_ONLY ADMIN ON *.* FROM root@'%';
REVOKE READ_ONLY ADMIN ON *.* FROM root@localhost;
CREATE USER repl@'%' IDENTIFIED BY '$repl_pw'$repl_tls;
GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO repl@'%';
FLUSH PRIVILEGES;
SQL
mariadb-admin --socket="$SOCK" -umysql shutdown
wait $pid || true
echo "initialised"
trap - EXIT
case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac
# Last: once the mark is gone the data container ends, and with it anything still running there.
exec rm -f "$D/.mysqlha-incomplete"
