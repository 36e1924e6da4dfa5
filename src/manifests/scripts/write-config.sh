#!/bin/sh
# Writes this pod's my.cnf for its role. The role comes from the cluster's record of the primary
# (ConfigMap key "primary"), never from the ordinal. Run at pod start (init container "config")
# and again at every start of the server container, so a restarted server takes the current role.
set -eu
ordinal=${POD_NAME##*-}
primary=$(cat /etc/mysqlha/config/primary)
# The plugin also writes the primary into each running pod (run/primary) right after it moved
# the record: the kubelet refreshes a mounted ConfigMap only within a minute or so, and a
# server restarting meanwhile must not take its old role (a new primary killed seconds after
# its promotion came back read-only: no writable member). Whichever was written last wins:
# the kubelet writes the mounted file anew at each refresh.
if [ -f /etc/mysqlha/run/primary ] && [ /etc/mysqlha/run/primary -nt /etc/mysqlha/config/primary ]; then
  primary=$(cat /etc/mysqlha/run/primary)
fi
role=replica
[ -n "$primary" ] && [ "$POD_NAME" = "$primary" ] && role=primary
# No primary of record (kept data being brought back): every member starts read-only and does
# not replicate until the plugin has chosen the primary from the members' GTID states.
hold=""
[ -z "$primary" ] && hold="!include /etc/mysqlha/config/hold.cnf"
# An old primary the plugin stopped in a failover (the mark lives as long as this pod): it
# restarts read-only and not replicating, whatever the record still says.
if [ -f /etc/mysqlha/run/held-old-primary ]; then
  role=replica
  hold="!include /etc/mysqlha/config/hold.cnf"
fi
# Settings made with `kubectl mysqlha set --set` (ConfigMap key settings.cnf), after the role's.
settings=""
[ -f /etc/mysqlha/config/settings.cnf ] && settings="!include /etc/mysqlha/config/settings.cnf"
# server_id: the ordinal keeps it unique among the members (at most 999), the pod's uid makes it
# new with every pod. A pod that vanished without closing its connections (its node lost power,
# or it was deleted while cut off) leaves a binary log dump thread on the primary; MariaDB 10.11
# deadlocks when a replica with that thread's server id registers (kill_zombie_dump_threads
# waits, holding the thread list, for the semi-sync ACK receiver, which sleeps in poll() on the
# dead socket until an ACK arrives; no new connection, so no commit, so no ACK), seen on the
# test bed when a replica's node healed from a partition. With a new id there is nothing to kill.
uid_hash=$(printf %s "${POD_UID:-}" | cksum | cut -d' ' -f1)
server_id=$(( (uid_hash % 4000000) * 1000 + ordinal + 1 ))
cat >/etc/mysqlha/run/my.cnf.new <<CNF
[client]
socket=/run/mysqld/mysqld.sock

[mariadb-backup]
socket=/run/mysqld/mysqld.sock

[mysqld]
datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
port=3306
bind_address=0.0.0.0
server_id=$server_id
report_host=${POD_NAME}.${HEADLESS_SERVICE}
!include /etc/mysqlha/config/${role}.cnf
$hold
$settings
CNF
mv /etc/mysqlha/run/my.cnf.new /etc/mysqlha/run/my.cnf
echo "$role" >/etc/mysqlha/run/role
echo "pod $POD_NAME starts as $role (primary of record: ${primary:-none}${hold:+, replication held})"
