#!/bin/sh
# preStop hook of container "mysql". Kubernetes runs it when the pod is deleted or evicted (a
# drain, `kubectl delete pod`, a node shutting down gracefully) and sends SIGTERM only after it
# returns; meanwhile the server keeps serving. A primary with connected replicas waits here
# while the cluster's agent switches over, so that a planned move costs a switchover, not a
# failover: the agent claims the move by creating run/leaving (within CLAIM_WAIT seconds) and
# removes it if it gives up; the hook returns once this server is a replica (read-only,
# replicating from the new primary, its fence's hold released) and clients stopped coming
# (see linger). It returns at once on a replica, on a server that does not
# answer, and when no replica is connected (nobody to switch over to, or the whole cluster
# stops: `kubectl mysqlha delete`). At most CLAIM_WAIT + MOVE_WAIT + LINGER seconds, well within
# the pod's termination grace period (60 s) so that the server still stops cleanly.
set -u
CLAIM_WAIT=10
MOVE_WAIT=30
LINGER=6
claim=/etc/mysqlha/run/leaving
held=/etc/mysqlha/run/held-old-primary
if command -v mariadb >/dev/null 2>&1; then
  sql() { mariadb -umysql --connect-timeout=2 -N -B -e "$1" 2>/dev/null; }
else
  sql() { mysql --defaults-file=/etc/mysqlha/run/my.cnf -umysql --connect-timeout=2 -N -B -e "$1" 2>/dev/null; }
fi
writable() { [ "$(sql 'SELECT @@read_only')" = 0 ]; }
has_replicas() {
  n=$(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
  [ "${n:-0}" -gt 0 ] 2>/dev/null
}
replicating() { [ -n "$(sql 'SHOW REPLICA STATUS')" ]; }
connections() { sql "SHOW GLOBAL STATUS LIKE 'Connections'" | awk '{ print $2 }'; }
# After the move, until no client has connected for a second (at most LINGER seconds): a client
# that kube-proxy still sends here gets a read-only error at once and tries again, instead of
# waiting out its connect timeout on the address of a pod already gone. (Each look is itself a
# connection, the readiness probe's two more every 2 s.)
linger() {
  before=$(connections)
  for _ in $(seq "$LINGER"); do
    sleep 1
    now=$(connections)
    [ $(( ${now:-0} - ${before:-0} )) -le 3 ] && return
    before=$now
  done
}
# Into the container's log (the hook's own output is kept nowhere).
say() { echo "preStop: $*" >/proc/1/fd/1 2>/dev/null || true; }
writable || exit 0
has_replicas || exit 0
say "primary ${POD_NAME:-} is stopping: it serves while the agent switches over (if it claims the move within ${CLAIM_WAIT}s)"
deadline=$(( $(date +%s) + CLAIM_WAIT ))
until [ -e "$claim" ]; do
  has_replicas || { say "no replica connected any more: stopping"; exit 0; }
  [ "$(date +%s)" -lt "$deadline" ] || { say "no agent claimed the switchover: stopping"; exit 0; }
  sleep 0.2
done
deadline=$(( $(date +%s) + MOVE_WAIT ))
while [ -e "$claim" ]; do
  # Done when it replicates and the agent released the hold its fence left (the last step of
  # its repointing, an exec into this container: stopping sooner makes that exec fail, and the
  # agent took the move for failed; seen under a loaded machine).
  if ! writable && replicating && [ ! -e "$held" ]; then
    linger
    say "switched over: stopping as a replica"
    exit 0
  fi
  [ "$(date +%s)" -lt "$deadline" ] || { say "the switchover took over ${MOVE_WAIT}s: stopping"; exit 0; }
  sleep 0.2
done
say "the agent gave up the switchover: stopping"
