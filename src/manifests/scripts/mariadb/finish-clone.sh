#!/bin/sh
# Run by the plugin (exec in init container "data") after a backup stream has been extracted
# into the data directory: prepare it and mark it complete. The backup's position stays in
# xtrabackup_binlog_info / xtrabackup_slave_info, where the plugin reads it. The operation's
# workspace (the directory of this script) goes before the mark: once the data is complete the
# container ends.
# A later clone of this target ends this script and its prepare if the plugin that ran them was
# interrupted (stop-stale.sh): both pids are recorded, and both command lines name the workspace
# (the prepare works through the link $OP/data that start-clone.sh made), so a stale prepare can
# neither write into the next clone's extraction nor remove its incomplete mark.
set -eu
D=/var/lib/mysql
OP=${0%/*}
echo $$ >"$OP/finish.pid"
mariadb-backup --prepare --target-dir="$OP/data" --use-memory=256M >"$OP/prepare.log" 2>&1 &
echo $! >"$OP/prepare.pid"
wait $! || { tail -n 20 "$OP/prepare.log" >&2; exit 1; }
case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac
# Last: once the mark is gone the data container ends, and with it anything still running there.
exec rm -f "$D/.mysqlha-incomplete"
