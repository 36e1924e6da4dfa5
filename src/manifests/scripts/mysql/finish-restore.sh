#!/bin/sh
# Run by the plugin (exec in init container "data") once a restored backup was checked: the
# data is complete. The workspace goes first; once the mark is gone the container ends.
set -eu
OP=${0%/*}
case $OP in /tmp/mysqlha-op-?*) rm -rf "$OP" ;; esac
exec rm -f /var/lib/mysql/.mysqlha-incomplete
