#!/bin/sh
# Server container "mysql": re-read the role, run mysqld, and end it when the pod stops.
# A server that started as the primary is ended with SIGKILL, never shut down: when MySQL shuts
# down it ends the waits of commits that no replica has acknowledged, and those commits return
# OK to their clients while they are on no replica (seen here: a write acknowledged by a frozen
# old primary that was shut down after a failover, lost). A crash returns nothing to them, and
# the server comes back from its crash-safe logs (sync_binlog=1, flush at commit).
set -eu
sh /etc/mysqlha/config/write-config.sh
role=$(cat /etc/mysqlha/run/role)
mysqld --defaults-file=/etc/mysqlha/run/my.cnf &
pid=$!
stop() {
  if [ "$role" = primary ]; then kill -KILL "$pid"; else kill -TERM "$pid"; fi
}
trap stop TERM INT
status=0
# A trapped signal interrupts wait: wait again until mysqld itself has ended.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || status=$?
done
exit "$status"
