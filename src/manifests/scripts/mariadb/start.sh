#!/bin/sh
# Server container "mysql": re-read the role, then run mariadbd in the foreground.
set -eu
sh /etc/mysqlha/config/write-config.sh
exec mariadbd --defaults-file=/etc/mysqlha/run/my.cnf
