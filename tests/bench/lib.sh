# Shared by the benchmark scripts: the plugin binary, a scratch namespace, timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${KUBECONFIG:?the test bed is not up: run eval \"\$(tests/testbed/up)\" first}"
: "${MYSQLHA_IMAGE:?the test bed is not up: run eval \"\$(tests/testbed/up)\" first}"
cargo build --release --quiet
PLUGIN=$PWD/target/release/kubectl-mysqlha
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
scratch_namespace() {
  NS=bench-$1-$$
  kubectl create namespace "$NS" >/dev/null
  trap 'kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true' EXIT
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
maximum() { sort -n | tail -n 1; }
