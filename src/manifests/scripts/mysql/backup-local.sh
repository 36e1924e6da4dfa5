#!/bin/sh
# Run by the plugin in a member's server container: a base backup to stdout. MySQL's clone
# plugin writes a directory, so the clone stages in this operation's workspace (the directory of
# this script, in the container's own filesystem: it needs as much room as the data), is written
# to stdout as a tar, and is removed. The workspace's pid files let a later backup end this one
# if the plugin that ran it was interrupted (stop-stale.sh).
set -eu
OP=${0%/*}
. "$OP/stop-stale.sh"
stop_stale
echo $$ >"$OP/backup.pid"
trap 'rm -rf "$OP/clone"' EXIT
mysql --defaults-file=/etc/mysqlha/run/my.cnf -umysql -e "CLONE LOCAL DATA DIRECTORY = '$OP/clone'" >&2
# The clone's entries, not the directory itself: the restore extracts into a volume's root,
# whose own mode and times are not the restorer's to set.
cd "$OP/clone"
ls -A | tar -cf - -T -
