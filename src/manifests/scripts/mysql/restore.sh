#!/bin/sh
# Run by the plugin (exec in init container "data") to restore a base backup: empty the data
# directory, mark it incomplete, then extract the tar of a clone arriving on stdin. The mark
# stays until the plugin has checked what arrived against the backup's manifest
# (finish-restore.sh removes it).
set -eu
OP=${0%/*}
. "$OP/stop-stale.sh"
stop_stale
D=/var/lib/mysql
touch "$D/.mysqlha-incomplete"
find "$D" -mindepth 1 ! -name .mysqlha-incomplete -delete
ln -s "$D" "$OP/data"
echo $$ >"$OP/extract.pid"
# The tar holds the clone's entries, not its directory: the data directory (the volume's root,
# not ours to chmod) keeps its own mode.
exec tar -x -f - -C "$OP/data/"
