#!/bin/sh
# Run by the plugin (exec in init container "data"): empty the data directory, mark it
# incomplete, then extract the backup stream arriving on stdin.
set -eu
. /tmp/mysqlha/stop-stale.sh
stop_stale mbstream
D=/var/lib/mysql
touch "$D/.mysqlha-incomplete"
find "$D" -mindepth 1 ! -name .mysqlha-incomplete -delete
exec mbstream -x -C "$D"
