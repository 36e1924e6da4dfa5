#!/bin/sh
# Started by start.sh beside mariadbd (argument: its pid), in every member; acts only where
# binary log dump threads run, i.e. on the primary. Ends a dump thread whose replica stopped
# acknowledging at the TCP level (the replica's node partitioned away or powered off, its pod
# gone without closing the connection): such a thread lives until TCP gives up, about 15
# minutes. If the same replica (same server id) connects again meanwhile, MariaDB 10.11 ends the
# old thread itself and, with semi-sync, waits holding the thread list for the ACK receiver,
# which sleeps with no timeout on the dead socket: no new connection starts, nothing commits
# (seen on the test bed after a partition healed; README, "Honest limits"). A plain KILL closes
# the socket first, which wakes the ACK receiver.
# A socket is taken for dead after MIN_RETRANSMITS retransmission timeouts in a row with no
# acknowledgement (about 3 s at Linux's 200 ms minimum), below the replica's own 10 s
# slave_net_timeout after which it connects again. Reads /proc/net/tcp{,6} every second and asks
# the server only when a connection to port 3306 looks dead.
MIN_RETRANSMITS=4
pid=$1
tables=
for t in /proc/net/tcp /proc/net/tcp6; do [ -r "$t" ] && tables="$tables $t"; done

# "ADDRESS:PORT" of peers of port 3306 whose retransmission count reached the limit, in the
# kernel's notation (the last 8 hex digits of the address, little-endian, and the port in hex).
dead_peers() {
  # shellcheck disable=SC2086
  awk -v min="$MIN_RETRANSMITS" '
    function hex(s,   i, n) {
      n = 0
      for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1
      return n
    }
    $2 ~ /:0CEA$/ && hex($7) >= min { print substr($3, length($3) - 12) }' $tables
}

# "ID HOST" of binary log dump threads whose peer is one of $1 (space-separated, as above).
dump_threads_of() {
  mariadb -umysql -N -B -e "SELECT ID, HOST FROM information_schema.PROCESSLIST
      WHERE COMMAND LIKE 'Binlog Dump%' AND HOST LIKE '%:%'" 2>/dev/null |
    awk -v dead="$1" '
      BEGIN { n = split(dead, d, " "); for (i = 1; i <= n; i++) is_dead[d[i]] = 1 }
      { split($2, hp, ":"); split(hp[1], o, ".")
        key = sprintf("%02X%02X%02X%02X:%04X", o[4], o[3], o[2], o[1], hp[2])
        if (key in is_dead) print $1, $2 }'
}

while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  peers=$(dead_peers | tr '\n' ' ')
  [ -n "${peers% }" ] || continue
  dump_threads_of "$peers" | while read -r id host; do
    if mariadb -umysql -e "KILL $id" 2>/dev/null; then
      echo "mysqlha: ended binary log dump thread $id of $host: no TCP acknowledgement after $MIN_RETRANSMITS retransmissions"
    fi
  done
done
