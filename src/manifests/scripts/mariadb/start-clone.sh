#!/bin/sh
# Run by the plugin (exec in init container "data"): empty the data directory, mark it
# incomplete, then extract the backup stream arriving on stdin. Works in this operation's
# workspace (the directory of this script): mbstream extracts through the link $OP/data, so its
# command line names the workspace and a later clone of this target can end it.
set -eu
OP=${0%/*}
. "$OP/stop-stale.sh"
stop_stale
D=/var/lib/mysql
touch "$D/.mysqlha-incomplete"
find "$D" -mindepth 1 ! -name .mysqlha-incomplete -delete
ln -s "$D" "$OP/data"
echo $$ >"$OP/extract.pid"
exec mbstream -x -C "$OP/data"
