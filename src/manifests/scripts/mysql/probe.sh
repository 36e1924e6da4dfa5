#!/bin/sh
# Readiness of container "mysql": mysqld answers; a writable member is the primary; a read-only
# member is ready only while it replicates (SQL thread running, IO thread not stopped).
D=/var/lib/mysql
[ -e "$D/.mysqlha-incomplete" ] && exit 1
sql() { mysql --defaults-file=/etc/mysqlha/run/my.cnf -umysql -N -B -e "$1" 2>/dev/null; }
ro=$(sql 'SELECT @@read_only') || exit 1
[ "$ro" = 0 ] && exit 0
status=$(mysql --defaults-file=/etc/mysqlha/run/my.cnf -umysql --vertical -e 'SHOW REPLICA STATUS' 2>/dev/null) || exit 1
echo "$status" | grep -q 'Replica_SQL_Running: Yes' || exit 1
echo "$status" | grep -Eq 'Replica_IO_Running: (Yes|Connecting)' || exit 1
