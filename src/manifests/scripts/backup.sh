#!/bin/sh
# Run by the plugin in a donor's server container: stream a physical backup to stdout.
# Extra arguments (--slave-info on a replica) are passed to mariadb-backup.
set -eu
. /tmp/mysqlha/stop-stale.sh
stop_stale mariadb-backup
rm -rf /tmp/mysqlha-backup
exec mariadb-backup --defaults-file=/etc/mysqlha/run/my.cnf --backup --stream=xbstream \
  --user=mysql --target-dir=/tmp/mysqlha-backup "$@"
