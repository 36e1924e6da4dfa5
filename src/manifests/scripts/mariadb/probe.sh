#!/bin/sh
# Readiness of container "mysql": mariadbd answers; a writable member is the primary; a
# read-only member is ready only while it replicates (SQL thread running, IO thread not stopped).
D=/var/lib/mysql
[ -e "$D/.mysqlha-incomplete" ] && exit 1
ro=$(mariadb -umysql -N -B -e 'SELECT @@read_only' 2>/dev/null) || exit 1
[ "$ro" = 0 ] && exit 0
status=$(mariadb -umysql -e 'SHOW SLAVE STATUS\G' 2>/dev/null) || exit 1
echo "$status" | grep -q 'Slave_SQL_Running: Yes' || exit 1
echo "$status" | grep -Eq 'Slave_IO_Running: (Yes|Connecting)' || exit 1
