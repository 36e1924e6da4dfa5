#!/bin/sh
# Init container "config" (root): choose this pod's role from the cluster's record of the
# primary (ConfigMap key "primary", never the ordinal), write its my.cnf, own the data dir.
set -eu
ordinal=${POD_NAME##*-}
primary=$(cat /etc/mysqlha/config/primary)
role=replica
[ "$POD_NAME" = "$primary" ] && role=primary
mkdir -p /etc/mysqlha/run
cat >/etc/mysqlha/run/my.cnf <<CNF
[client]
socket=/run/mysqld/mysqld.sock

[mariadb-backup]
socket=/run/mysqld/mysqld.sock

[mysqld]
datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
port=3306
bind_address=0.0.0.0
server_id=$((ordinal + 1))
report_host=${POD_NAME}.${HEADLESS_SERVICE}
!include /etc/mysqlha/config/${role}.cnf
CNF
echo "$role" >/etc/mysqlha/run/role
chown 999:999 /var/lib/mysql /run/mysqld /etc/mysqlha/run
chmod 0750 /var/lib/mysql
echo "pod $POD_NAME starts as $role (primary of record: $primary)"
