# Shared by the benchmark scripts: the plugin binary, scratch namespaces, timing, the engines.
set -euo pipefail

# The statistics of every bench, over one figure per round read one a line from stdin:
# `median`, `maximum`, `minimum`, `percentile P` (nearest rank, P in 1..100). A round with no
# figure ("none", or an empty line: it never finished, e.g. no write was acknowledged) is a
# failed round and counts as infinite ("inf"): the worst, never the best; a median over as
# many failed rounds as good ones is "inf". Anything else that is not a number, or no line at
# all (no round was recorded), is an error: one line on stderr, status 1, nothing on stdout.
# Assign the result first (m=$(lines "${arr[@]}" | median)): a failure inside "$(...)" among
# printf's arguments would not stop the script. tests/bench/lib-selftest checks these.
figures() {
  local which=$1 values
  values=$(awk '
    { v = $1 }
    v == "" || v == "none" || tolower(v) ~ /^[+]?inf(inity)?$/ { print "inf"; next }
    NF == 1 && v ~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/ { print v; next }
    { printf "bench: \"%s\" is not a figure (a number, or none for a failed round)\n", $0 > "/dev/stderr"; exit 1 }
  ') || return 1
  if [ -z "$values" ]; then
    echo "bench: no figures to take the $which of (no round was recorded)" >&2
    return 1
  fi
  printf '%s\n' "$values" | sort -g | awk -v which="$which" '
    { a[NR] = $1 }
    END {
      if (which == "median") {
        if (NR % 2) r = a[(NR + 1) / 2]
        else if (a[NR / 2 + 1] == "inf") r = "inf"
        else r = (a[NR / 2] + a[NR / 2 + 1]) / 2
      } else if (which == "max") r = a[NR]
      else if (which == "min") r = a[1]
      else {
        p = substr(which, 2) + 0; i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1
        r = a[i]
      }
      print r
    }'
}
median() { figures median; }
maximum() { figures max; }
minimum() { figures min; }
percentile() {
  case $1 in
    [1-9] | [1-9][0-9] | 100) figures "p$1" ;;
    *) echo "bench: percentile $1: not in 1..100" >&2; return 1 ;;
  esac
}
# lines VALUE...: one value a line, nothing at all for no value (printf '%s\n' would print one
# empty line: one failed round).
lines() { [ $# -eq 0 ] || printf '%s\n' "$@"; }
# ratio A B: A / B to two decimals (A and B may be bc expressions); "inf" when A is, "n/a"
# when B is infinite or zero (no baseline to compare with).
ratio() {
  case "$1" in *inf*) echo inf; return ;; esac
  case "$2" in *inf*) echo n/a; return ;; esac
  local r
  r=$(echo "scale=4; ($1) / ($2)" | bc -l 2>/dev/null) || true
  if [ -z "$r" ]; then echo n/a; else printf '%.2f\n' "$r"; fi
}
# The statistics alone (tests/bench/lib-selftest): no test bed, no build.
if [ -n "${MYSQLHA_BENCH_FUNCTIONS_ONLY:-}" ]; then return 0; fi

cd "$(dirname "$0")/../.."
: "${KUBECONFIG:?the test bed is not up: run eval \"\$(tests/testbed/up)\" first}"
: "${MYSQLHA_IMAGE:?the test bed is not up: run eval \"\$(tests/testbed/up)\" first}"
# The engines measured in this run, each against its own baseline of the same run.
ENGINES=${ENGINES:-mariadb mysql}
for engine in $ENGINES; do
  case $engine in
    mariadb) ;;
    mysql) : "${MYSQLHA_MYSQL_IMAGE:?ENGINES has mysql: the test bed exports MYSQLHA_MYSQL_IMAGE}" ;;
    *) echo "unknown engine $engine in ENGINES (mariadb, mysql)" >&2; exit 2 ;;
  esac
done
# PLUGIN=/path/to/kubectl-mysqlha measures that binary (e.g. an older build, for a before/after).
if [ -z "${PLUGIN:-}" ]; then
  cargo build --release --quiet
  PLUGIN=${CARGO_TARGET_DIR:-target}/release/kubectl-mysqlha
fi
case $PLUGIN in /*) ;; *) PLUGIN=$PWD/$PLUGIN ;; esac
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
# Per engine: its image, its client, its server process.
image_of() { case $1 in mariadb) echo "$MYSQLHA_IMAGE" ;; mysql) echo "$MYSQLHA_MYSQL_IMAGE" ;; esac; }
client_of() { case $1 in mariadb) echo mariadb ;; mysql) echo mysql ;; esac; }
server_of() { case $1 in mariadb) echo mariadbd ;; mysql) echo mysqld ;; esac; }
# scratch_namespace NAME: sets NS to a new namespace, deleted when the script exits;
# drop_namespace deletes the current one now (and waits, so the next engine runs alone).
SCRATCH=()
scratch_namespace() {
  NS=bench-$1-$$
  kubectl create namespace "$NS" >/dev/null
  SCRATCH+=("$NS")
  trap 'rc=$?; for n in "${SCRATCH[@]}"; do { [ "$rc" = 0 ] && [ -z "${EVIDENCE:-}" ]; } || evidence "$n"; kubectl delete namespace "$n" --wait=false >/dev/null 2>&1 || true; done' EXIT
}
# evidence NS: what a benchmark that stopped early (or any, with EVIDENCE=1) leaves in its $LOG (or stderr): the pods, the
# last events and the logs of the agent's pods in NS.
evidence() {
  {
    echo "=== stopped early: namespace $1"
    kubectl get pods -n "$1" -o wide 2>&1
    kubectl get events -n "$1" --sort-by=.lastTimestamp 2>&1 | tail -n 60
    for pod in $(kubectl get pods -n "$1" -o name 2>/dev/null | grep -- '-agent-'); do
      echo "--- $pod"; kubectl logs -n "$1" "$pod" --tail=80 2>&1
    done
  } >>"${LOG:-/dev/stderr}"
}
drop_namespace() { kubectl delete namespace "$NS" --timeout=180s >/dev/null 2>&1 || true; }
# side_by_side LABEL VALUE...: one row of the table that ends each benchmark, a column per engine.
side_by_side() { local label=$1; shift; printf '%-44s' "$label"; printf ' %-26s' "$@"; printf '\n'; }
# load_big ENGINE MB: MB megabytes of incompressible rows into app.big on db-0 of $NS.
load_big() {
  case $1 in
    mariadb) kubectl exec -i -n "$NS" db-0 -c mysql -- mariadb -umysql <<SQL ;;
CREATE DATABASE app; USE app; CREATE TABLE app.big (id INT PRIMARY KEY, pad VARBINARY(1000));
INSERT INTO app.big SELECT seq, RANDOM_BYTES(1000) FROM seq_1_to_$(($2 * 1024));
SQL
    mysql)
      { echo "CREATE DATABASE app; CREATE TABLE app.big (id INT PRIMARY KEY, pad VARBINARY(1000));"
        echo "SET SESSION cte_max_recursion_depth = 1000000;"
        # 64 MB a statement: no single huge transaction in the binary log.
        for ((from = 1; from <= $2 * 1024; from += 65536)); do
          to=$((from + 65535 < $2 * 1024 ? from + 65535 : $2 * 1024))
          echo "INSERT INTO app.big WITH RECURSIVE s(n) AS (SELECT $from UNION ALL SELECT n + 1 FROM s WHERE n < $to) SELECT n, RANDOM_BYTES(1000) FROM s;"
        done; } | kubectl exec -i -n "$NS" db-0 -c mysql -- mysql -umysql ;;
  esac
}
# excludes_of ENGINE: sets the array `exclude` to what a clone does not carry, left out of the
# raw copy: binary logs (both engines), redo and temporary tablespace (MySQL, whose 512 MB of
# preallocated redo would dominate a small data set).
excludes_of() {
  case $1 in
    mariadb) exclude=(--exclude='mysql-bin.*') ;;
    mysql) exclude=(--exclude='mysql-bin.*' --exclude='#innodb_redo' --exclude='#innodb_temp' --exclude=ibtmp1) ;;
  esac
}
# flush_dirty_pages ENGINE: db-0 writes its dirty pages out first, so neither the raw copy nor
# the clone competes with the page cleaner.
flush_dirty_pages() {
  local client pct
  client=$(client_of "$1")
  sql_db0() { kubectl exec -n "$NS" db-0 -c mysql -- "$client" -umysql -N -B -e "$1"; }
  pct=$(sql_db0 'SELECT @@innodb_max_dirty_pages_pct')
  sql_db0 'SET GLOBAL innodb_max_dirty_pages_pct = 0'
  for _ in $(seq 240); do
    [ "$(sql_db0 "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | cut -f2)" = 0 ] && break
    sleep 0.5
  done
  sql_db0 "SET GLOBAL innodb_max_dirty_pages_pct = $pct"
}
# raw_copy ENGINE: a `tar | tar` copy of db-0's data directory (less raw_excludes) into the
# container's /tmp, on the same node, synced, then removed; sets raw_bytes and raw_s.
raw_copy() {
  local out exclude
  excludes_of "$1"
  raw_bytes=$(kubectl exec -n "$NS" db-0 -c mysql -- du -sb "${exclude[@]}" /var/lib/mysql | cut -f1)
  drop_caches
  out=$(kubectl exec -n "$NS" db-0 -c mysql -- sh -c \
    's=$(date +%s.%N); mkdir /tmp/copy && tar -C /var/lib/mysql "$@" -cf - . | tar -C /tmp/copy -xf - && sync && e=$(date +%s.%N); rm -rf /tmp/copy; echo "$s $e"' \
    sh "${exclude[@]}")
  raw_s=$(echo "$out" | awk '{print $2 - $1}')
}
