#!/bin/sh
# Writes this pod's my.cnf for its role. The role comes from the cluster's record of the primary
# (ConfigMap key "primary"), never from the ordinal. Run at pod start (init container "config")
# and again at every start of the server container, so a restarted server takes the current role.
set -eu
ordinal=${POD_NAME##*-}
# Two records of the primary, each "who" and a generation (one more with every move): the
# mounted ConfigMap (keys primary, primary-generation), which the kubelet refreshes only within a
# minute or so of a move, and the pod's own copy (run/primary, "POD GENERATION"), which the
# plugin writes into every running member right after it moved the record. The newer generation
# wins, whatever the kubelet did to the mounted files and whenever it did it; on a tie the
# ConfigMap (a copy without a generation, from an older plugin, is older than any ConfigMap).
primary=$(cat /etc/mysqlha/config/primary)
generation=$(cat /etc/mysqlha/config/primary-generation 2>/dev/null || echo 0)
case $generation in ''|*[!0-9]*) generation=0 ;; esac
if [ -f /etc/mysqlha/run/primary ]; then
  read -r own_primary own_generation rest </etc/mysqlha/run/primary || true
  case ${own_generation:-} in ''|*[!0-9]*) own_generation=0 ;; esac
  [ "${own_primary:-}" = - ] && own_primary=""
  if [ "$own_generation" -gt "$generation" ]; then
    primary=${own_primary:-}
    generation=$own_generation
  fi
fi
role=replica
[ -n "$primary" ] && [ "$POD_NAME" = "$primary" ] && role=primary
# No primary of record (kept data being brought back): every member starts read-only and does
# not replicate until the plugin has chosen the primary from the members' GTID states.
hold=""
[ -z "$primary" ] && hold="!include /etc/mysqlha/config/hold.cnf"
# An old primary the plugin fenced in a switchover or stopped in a failover (the mark lives as
# long as this pod, or until the plugin makes it follow the new primary): it restarts read-only
# and not replicating, whatever the records still say.
if [ -f /etc/mysqlha/run/held-old-primary ]; then
  role=replica
  hold="!include /etc/mysqlha/config/hold.cnf"
fi
# Settings made with `kubectl mysqlha set --set` (ConfigMap key settings.cnf), after the role's.
settings=""
[ -f /etc/mysqlha/config/settings.cnf ] && settings="!include /etc/mysqlha/config/settings.cnf"
# TLS (a cluster made with certificates: the CA's in the mounted credentials Secret): the server
# presents this member's certificate and checks clients' against the cluster's CA; with
# `create --require-tls` it also refuses clients without TLS. The files are read from the run
# directory: copied from the Secret here, unless `tls rotate` wrote newer ones there (the
# kubelet refreshes the mounted Secret late; the generation says which is newer).
tls=""
secret=/etc/mysqlha/secret
if [ -f "$secret/tls-ca.crt" ]; then
  if [ ! -f "$secret/tls-$POD_NAME.crt" ] || [ ! -f "$secret/tls-$POD_NAME.key" ]; then
    echo "the credentials Secret holds no TLS certificate for $POD_NAME (keys tls-$POD_NAME.crt, tls-$POD_NAME.key): run kubectl mysqlha scale to issue it" >&2
    exit 1
  fi
  files=/etc/mysqlha/run/tls
  mounted_generation=$(cat "$secret/tls-generation" 2>/dev/null || echo 0)
  own_generation=$(cat "$files/generation" 2>/dev/null || echo -1)
  case $mounted_generation in ''|*[!0-9]*) mounted_generation=0 ;; esac
  case $own_generation in ''|*[!0-9]*) own_generation=-1 ;; esac
  if [ "$mounted_generation" -ge "$own_generation" ]; then
    mkdir -p "$files"
    chmod 0700 "$files"
    (umask 077
     cp "$secret/tls-ca.crt" "$files/ca.crt.new" && cp "$secret/tls-$POD_NAME.crt" "$files/server.crt.new" \
       && cp "$secret/tls-$POD_NAME.key" "$files/server.key.new" \
       && mv "$files/ca.crt.new" "$files/ca.crt" && mv "$files/server.crt.new" "$files/server.crt" \
       && mv "$files/server.key.new" "$files/server.key" && echo "$mounted_generation" >"$files/generation")
  fi
  tls="ssl_ca=$files/ca.crt
ssl_cert=$files/server.crt
ssl_key=$files/server.key"
  [ -f /etc/mysqlha/config/require-tls.cnf ] && tls="$tls
!include /etc/mysqlha/config/require-tls.cnf"
fi
# server_id: the ordinal keeps it unique among the members (at most 999), the pod's uid makes it
# new with every pod. A pod that vanished without closing its connections (its node lost power,
# or it was deleted while cut off) leaves a binary log dump thread on the primary; MariaDB 10.11
# deadlocks when a replica with that thread's server id registers (kill_zombie_dump_threads
# waits, holding the thread list, for the semi-sync ACK receiver, which sleeps in poll() on the
# dead socket until an ACK arrives; no new connection, so no commit, so no ACK), seen on the
# test bed when a replica's node healed from a partition. With a new id there is nothing to kill.
uid_hash=$(printf %s "${POD_UID:-}" | cksum | cut -d' ' -f1)
server_id=$(( (uid_hash % 4000000) * 1000 + ordinal + 1 ))
# SELECT ... INTO OUTFILE, LOAD DATA INFILE and LOAD_FILE() reach one empty directory of the
# pod's own, nothing else (not the data directory's marks, the record of the primary, or a
# mounted token): MariaDB restricts nothing by default.
mkdir -p /etc/mysqlha/run/files
chmod 0700 /etc/mysqlha/run/files 2>/dev/null || true
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
secure_file_priv=/etc/mysqlha/run/files
$tls
!include /etc/mysqlha/config/${role}.cnf
$hold
$settings
CNF
mv /etc/mysqlha/run/my.cnf.new /etc/mysqlha/run/my.cnf
echo "$role" >/etc/mysqlha/run/role
echo "pod $POD_NAME starts as $role (primary of record: ${primary:-none}, generation $generation${hold:+, replication held})"
