#!/bin/sh
# Init container "data" (mysql user): a pod whose data directory is empty or marked incomplete
# never starts mariadbd. It waits here until the plugin fills it (bootstrap or clone).
set -eu
D=/var/lib/mysql
ready() { [ -d "$D/mysql" ] && [ ! -e "$D/.mysqlha-incomplete" ]; }
if ready; then exit 0; fi
echo "data directory is empty or incomplete: waiting for kubectl mysqlha to fill it"
while ! ready; do sleep 1; done
echo "data directory filled"
