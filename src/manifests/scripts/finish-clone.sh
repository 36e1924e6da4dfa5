#!/bin/sh
# Run by the plugin (exec in init container "data") after a backup stream has been extracted
# into the data directory: prepare it and mark it complete. The backup's position stays in
# xtrabackup_binlog_info / xtrabackup_slave_info, where the plugin reads it.
set -eu
D=/var/lib/mysql
mariadb-backup --prepare --target-dir="$D" --use-memory=256M >/tmp/prepare.log 2>&1 \
  || { tail -n 20 /tmp/prepare.log >&2; exit 1; }
rm -f "$D/.mysqlha-incomplete"
