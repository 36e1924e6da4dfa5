#!/bin/sh
# Server container "mysql": re-read the role, run mariadbd, and end it when the pod stops.
# mariadbd runs as a child, not as the container's first process, so that the plugin can kill
# it from inside the container (stop-and-hold.sh): a namespace's first process ignores SIGKILL
# sent from within.
set -eu
sh /etc/mysqlha/config/write-config.sh
mariadbd --defaults-file=/etc/mysqlha/run/my.cnf &
pid=$!
# Beside it, for as long as it runs: ends replication connections whose replica is gone.
sh /etc/mysqlha/config/end-dead-dump-threads.sh "$pid" &
trap 'kill -TERM "$pid"' TERM INT
status=0
# A trapped signal interrupts wait: wait again until mariadbd itself has ended.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || status=$?
done
exit "$status"
