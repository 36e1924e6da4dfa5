# Shared by the benchmark scripts: the plugin binary, scratch namespaces, timing, the engines.
set -euo pipefail
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
ratio() { printf '%.2f\n' "$(echo "scale=4; $1 / $2" | bc -l)"; }
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
  trap 'for n in "${SCRATCH[@]}"; do kubectl delete namespace "$n" --wait=false >/dev/null 2>&1 || true; done' EXIT
}
drop_namespace() { kubectl delete namespace "$NS" --timeout=180s >/dev/null 2>&1 || true; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
maximum() { sort -n | tail -n 1; }
# side_by_side LABEL VALUE...: one row of the table that ends each benchmark, a column per engine.
side_by_side() { local label=$1; shift; printf '%-44s' "$label"; printf ' %-26s' "$@"; printf '\n'; }
