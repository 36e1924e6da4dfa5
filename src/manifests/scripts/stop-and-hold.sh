# Run by the plugin (sh -c, $0 = the server's process name) in the server container of an old
# primary that does not answer, before another member is promoted: mark the pod so that its
# server restarts read-only and not replicating (write-config.sh reads the mark; the pod's
# next incarnation starts without it), then kill the server at once (SIGKILL wakes a frozen
# process too; a crash returns nothing to a client that waits for its commit). Exits 0 once no
# such process is left.
set -u
touch /etc/mysqlha/run/held-old-primary
for _ in 1 2 3 4 5 6 7 8 9 10; do
  left=0
  for dir in /proc/[0-9]*; do
    [ "$(cat "$dir/comm" 2>/dev/null)" = "$0" ] || continue
    left=1
    kill -KILL "${dir#/proc/}" 2>/dev/null
  done
  [ "$left" = 0 ] && exit 0
  sleep 0.1
done
echo "$0 still running after SIGKILL" >&2
exit 1
