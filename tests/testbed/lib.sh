# Shared by up and down: where things live, and how daemons are started and stopped.
CACHE=${MYSQLHA_CACHE:-$HOME/.cache/mysqlha-testbed}
STATE=${MYSQLHA_STATE:-/var/lib/mysqlha-testbed}
K8S_BIN=$CACHE/kubernetes-$K8S_VERSION
IMAGES=$CACHE/images-rev$IMAGE_REV
BRIDGE=mysqlha0
BRIDGE_MAC=02:00:0a:f4:00:01 # locally administered; 0a:f4:00:01 is the node address 10.244.0.1
NODE_IP=10.244.0.1
# The object store (versitygw): its port on NODE_IP and the tests' bucket.
S3_PORT=9000
PROMETHEUS_PORT=9090
S3_BUCKET=mysqlha-test
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
NODE_NAME=mysqlha-node
CONTAINERD_SOCK=$STATE/containerd/containerd.sock
# Control-plane timings (values a production cluster could use): a node that has not reported
# for NODE_GRACE is NotReady (the kubelets report every 4 s); pods on a NotReady or unreachable
# node are evicted after POD_EVICTION_SECONDS (Kubernetes' defaults: 50 s and 300 s).
NODE_GRACE=20s
POD_EVICTION_SECONDS=30
# The in-tree hostPath provisioner only creates and deletes volumes under /tmp/hostpath_pv.
HOSTPATH_ROOT=/tmp/hostpath_pv

# put FILE: writes stdin to FILE only when it differs. kube-proxy exits when its config file
# changes (even rewritten with the same bytes), so an idempotent `up` must not touch it.
# PUT_CHANGED tells whether the last put wrote the file.
put() {
  local file=$1 text
  text=$(cat)
  PUT_CHANGED=0
  if [ ! -e "$file" ] || [ "$(cat "$file")" != "$text" ]; then printf '%s\n' "$text" >"$file"; PUT_CHANGED=1; fi
}

# ours PID: the process runs one of the test bed's programs or config files (a pid file can
# outlive its process, and the number can be reused by something else).
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -e "$STATE" -e "$CACHE"; }

# stop_pidfile FILE: TERM, then KILL after 10 s, the test bed's process in FILE; removes FILE.
stop_pidfile() {
  local pid; pid=$(cat "$1" 2>/dev/null) || return 0
  if [ -n "$pid" ] && ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "test bed: ${1##*/} still running 10 s after SIGTERM: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}

# lock: one up or down at a time (fd 8; daemons are started with it closed).
lock() { mkdir -p "$CACHE"; exec 8>"$CACHE/testbed.lock"; flock 8; }

# The local provisioner's cache key: its sources' hash.
local_provisioner_key() { cat "$(dirname "${BASH_SOURCE[0]}")"/local-provisioner/{go.mod,go.sum,main.go,resize.go} | sha256sum | cut -c1-12; }

ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# start_daemon NAME COMMAND...: runs it in the background once (pid file), logs to a file.
start_daemon() {
  local name=$1; shift
  local pidfile="$STATE/run/$name.pid"
  if [ -s "$pidfile" ] && ours "$(cat "$pidfile")"; then return 0; fi
  setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$pidfile"
}

# wait_for WHAT SECONDS COMMAND...: polls until COMMAND succeeds; on timeout shows the logs.
wait_for() {
  local what=$1 limit=$2; shift 2
  local deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "test bed: timed out after ${limit}s waiting for $what; last log lines:" >&2
      for f in "$STATE"/logs/*.log; do echo "== $f" >&2; tail -n 8 "$f" >&2; done
      exit 1
    fi
    sleep 0.5
  done
}

# import_images CTR STAMP_DIR: the test bed's images into a containerd (CTR is ctr_ or nctr_),
# imported again only when the cached archive changed (a new IMAGE_REV, a rebuilt image) or the
# image is missing; STAMP_DIR records what was imported, next to that containerd's root.
import_images() {
  local ctr=$1 stamps=$2 image name stamp
  mkdir -p "$stamps"
  for image in pause mariadb mysql mariadb-next; do
    case $image in pause) name=$PAUSE_IMAGE ;; mariadb) name=$MARIADB_IMAGE ;; mysql) name=$MYSQL_IMAGE ;;
      mariadb-next) name=$MARIADB_NEXT_IMAGE ;; esac
    stamp="$IMAGES/$image.tar $(stat -c %Y "$IMAGES/$image.tar")"
    # (The list is read whole first: grep -q quitting early would fail the pipe under pipefail.)
    if ! grep -qx "$name" <<<"$("$ctr" images ls -q)" || [ "$(cat "$stamps/imported.$image" 2>/dev/null)" != "$stamp" ]; then
      "$ctr" images import "$IMAGES/$image.tar" >/dev/null
      echo "$stamp" >"$stamps/imported.$image"
    fi
  done
}

# containerd_config ROOT STATE SOCKET CNI_CONF_DIR: a containerd config of the test bed (the
# host's, or a worker node's).
containerd_config() {
  local mirrors="" reg
  for reg in docker.io registry.k8s.io k8s.gcr.io gcr.io quay.io ghcr.io mcr.microsoft.com public.ecr.aws localhost; do
    mirrors+="      [plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"$reg\"]
        endpoint = [\"http://127.0.0.1:1\"]
"
  done
  cat <<TOML
version = 2
root = "$1"
state = "$2"
[grpc]
  address = "$3"
[ttrpc]
  address = "$3.ttrpc"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_IMAGE"
    restrict_oom_score_adj = true
    enable_cdi = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$4"
    [plugins."io.containerd.grpc.v1.cri".registry]
      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
$mirrors
TOML
}

write_containerd_config() {
  mkdir -p "$STATE/containerd"
  containerd_config "$STATE/containerd/root" "$STATE/containerd/state" "$CONTAINERD_SOCK" "$STATE/cni/net.d" |
    put "$STATE/containerd.toml"
}

kubeconfig() { # file user cert-basename
  local file=$1 user=$2 cert=$3 P=$STATE/pki
  put "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mysqlha-testbed
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority: $P/ca.crt
users:
- name: $user
  user:
    client-certificate: $P/$cert.crt
    client-key: $P/$cert.key
contexts:
- name: mysqlha-testbed
  context: {cluster: mysqlha-testbed, user: $user, namespace: default}
current-context: mysqlha-testbed
KC
}

write_kubeconfigs() {
  kubeconfig "$STATE/admin.kubeconfig" admin admin
  kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager controller-manager
  kubeconfig "$STATE/scheduler.kubeconfig" scheduler scheduler
  kubeconfig "$STATE/kubelet.kubeconfig" kubelet kubelet
  kubeconfig "$STATE/kube-proxy.kubeconfig" kube-proxy kube-proxy
}

write_cni_config() {
  put "$STATE/cni/net.d/10-mysqlha.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "mysqlha",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$STATE/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

# kubelet_config ADDRESS SOCKET PKI_DIR [MORE]: a kubelet configuration of the test bed (the
# host's or a worker node's); MORE: the node's own extra lines.
kubelet_config() {
  cat <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $1
port: 10250
healthzBindAddress: 127.0.0.1
containerRuntimeEndpoint: unix://$2
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: false
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: $STATE/resolv.conf
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $STATE/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $3/kubelet-serving.crt
tlsPrivateKeyFile: $3/kubelet-serving.key
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
localStorageCapacityIsolation: false
${4:-}
YAML
}

# kube_proxy_config CLUSTER_CIDR NODE_PORT_ADDRESS: a kube-proxy configuration of the test bed.
kube_proxy_config() {
  cat <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
clusterCIDR: $1
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$2/32"]
# Zero: kube-proxy leaves the host's conntrack sysctls alone (else it sets max and timeouts).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
}

write_kubelet_config() {
  kubelet_config "$NODE_IP" "$CONTAINERD_SOCK" "$STATE/pki" | put "$STATE/kubelet.yaml"
  # Pods resolve only cluster names: no upstream resolver at all.
  printf 'nameserver %s\n' "$NODE_IP" | put "$STATE/resolv.conf"
}

write_kube_proxy_config() {
  kube_proxy_config "$POD_CIDR" "$NODE_IP" | put "$STATE/kube-proxy.yaml"
}

# The object store (versitygw, posix backend under $STATE/s3). Its root key is made once and
# kept in $STATE/s3.env (0600); it reaches versitygw through its environment, never argv.
start_object_store() {
  if [ ! -s "$STATE/s3.env" ]; then
    (umask 077; printf 'S3_ACCESS_KEY=mysqlha%s\nS3_SECRET_KEY=%s\n' \
      "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')" >"$STATE/s3.env")
  fi
  mkdir -p "$STATE/s3"
  (
    source "$STATE/s3.env"
    export ROOT_ACCESS_KEY_ID=$S3_ACCESS_KEY ROOT_SECRET_ACCESS_KEY=$S3_SECRET_KEY
    start_daemon versitygw "$CACHE/versitygw-$VERSITYGW_VERSION/versitygw" --port "$NODE_IP:$S3_PORT" --quiet posix "$STATE/s3"
  )
}

# s3_curl ARGS...: curl with the object store's root key (AWS signature v4).
s3_curl() {
  (source "$STATE/s3.env"
   curl -sf -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "$@")
}
