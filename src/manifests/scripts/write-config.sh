#!/bin/sh
# Writes this pod's my.cnf for its role. The role comes from the cluster's record of the primary
# (ConfigMap key "primary"), never from the ordinal. Run at pod start (init container "config")
# and again at every start of the server container, so a restarted server takes the current role.
set -eu
ordinal=${POD_NAME##*-}
primary=$(cat /etc/mysqlha/config/primary)
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
server_id=$((ordinal + 1))
report_host=${POD_NAME}.${HEADLESS_SERVICE}
!include /etc/mysqlha/config/${role}.cnf
$hold
$settings
CNF
mv /etc/mysqlha/run/my.cnf.new /etc/mysqlha/run/my.cnf
echo "$role" >/etc/mysqlha/run/role
echo "pod $POD_NAME starts as $role (primary of record: ${primary:-none}${hold:+, replication held})"
