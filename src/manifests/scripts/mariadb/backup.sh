#!/bin/sh
# Run by the plugin in a donor's server container: stream a physical backup to stdout.
# Extra arguments (--slave-info on a replica) are passed to mariadb-backup. Works in this
# operation's workspace (the directory of this script), where it records its pid; the backup's
# command line names that workspace, so a later clone of the same target can end it if this
# one is interrupted (and never ends a mariadb-backup that someone else started).
set -eu
OP=${0%/*}
. "$OP/stop-stale.sh"
stop_stale
echo $$ >"$OP/backup.pid"
exec mariadb-backup --defaults-file=/etc/mysqlha/run/my.cnf --backup --stream=xbstream \
  --user=mysql --target-dir="$OP/backup" "$@"
