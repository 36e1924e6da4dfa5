#!/bin/sh
# Server container "mysql": re-read the role, then run mysqld in the foreground.
set -eu
sh /etc/mysqlha/config/write-config.sh
exec mysqld --defaults-file=/etc/mysqlha/run/my.cnf
