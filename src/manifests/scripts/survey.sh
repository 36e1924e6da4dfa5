# Run by `status` (sh -c, in one member's server container): asks every member's server the
# same SQL over the pod network, all at once, and prints each answer after a header line
# "mysqlha-survey <index> <exit status>" (after a failure, the client's first error line on a
# line "mysqlha-survey-error <line>"). Arguments: CLIENT PORT CONNECT_TIMEOUT TLS HOST...,
# TLS being the client's TLS options, space-separated ("-" for none).
# stdin: the root password on its first line, then the SQL. The password goes into a private
# options file removed on exit: never on a command line.
set -u
client=$1 port=$2 timeout=$3 tls=$4
shift 4
[ "$tls" = - ] && tls=""
umask 077
dir=$(mktemp -d /tmp/mysqlha-survey-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' HUP INT TERM
IFS= read -r password
printf '[client]\nuser=root\npassword=%s\n' "$password" >"$dir/cnf"
cat >"$dir/sql"
i=0
for host in "$@"; do
  # shellcheck disable=SC2086 # the TLS options are words
  { "$client" --defaults-file="$dir/cnf" $tls -h "$host" -P "$port" --batch --connect-timeout="$timeout" \
      <"$dir/sql" >"$dir/out$i" 2>"$dir/err$i"; echo $? >"$dir/rc$i"; } &
  i=$((i + 1))
done
wait
i=0
for host in "$@"; do
  rc=$(cat "$dir/rc$i")
  echo "mysqlha-survey $i $rc"
  [ "$rc" = 0 ] || echo "mysqlha-survey-error $(grep -m 1 . "$dir/err$i")"
  cat "$dir/out$i"
  i=$((i + 1))
done
