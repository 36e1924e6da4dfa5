# Worker nodes in network namespaces (sourced by up, down and node after lib.sh).
#
# Node i (1..N) is `mysqlha-node-i`: a network namespace `mysqlha-ni` whose eth0 (10.245.0.(10+i))
# hangs on the host bridge NODES_BRIDGE (10.245.0.1/24), its own containerd, kubelet and
# kube-proxy running in that namespace, its own pod range 10.244.i.0/24 on a bridge cni0 inside
# it, and one cgroup tree /mysqlha-node-i (daemons in .../daemons, pods in .../kubepods) in every
# controller, so the whole node can be frozen or killed at once. The host routes each pod range
# to its node; the control plane and CoreDNS stay on the host (10.244.0.1).
NODES_BRIDGE=mysqlha1
NODES_BRIDGE_IP=10.245.0.1
NODES_BRIDGE_MAC=02:00:0a:f5:00:01
CGROUP_CONTROLLERS="blkio cpu cpuacct cpuset devices freezer memory pids systemd"

# node_vars I: sets the node's names, addresses and paths.
node_vars() {
  local i=$1
  N_NAME=mysqlha-node-$i
  N_NETNS=mysqlha-n$i
  N_IP=10.245.0.$((10 + i))
  N_VETH=mhn$i
  N_POD_CIDR=10.244.$i.0/24
  N_POD_GW=10.244.$i.1
  N_POD_MAC=$(printf '02:00:0a:f4:%02x:01' "$i")
  N_DIR=$STATE/nodes/$N_NAME
  N_SOCK=$N_DIR/containerd/containerd.sock
  N_CGROUP=$N_NAME
  # The node's containerd root (its images) outlives `down`, like a real node's disk: importing
  # the images into three fresh roots took most of a warm `up`. What `down` leaves of the old
  # containers in it, the kubelet removes at start, as after a reboot.
  N_ROOT=$CACHE/node-containerd/$N_NAME
}

in_node() { nsenter --net="/run/netns/$N_NETNS" "$@"; }
nctr_() { ctr --address "$N_SOCK" -n k8s.io "$@"; }

# The host's bridge for the nodes' own addresses; nothing else is routed to or from it.
nodes_network() {
  if ! ip link show "$NODES_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODES_BRIDGE" type bridge
    ip addr add "$NODES_BRIDGE_IP/24" dev "$NODES_BRIDGE"
  fi
  ip link set "$NODES_BRIDGE" address "$NODES_BRIDGE_MAC"
  ip link set "$NODES_BRIDGE" up
  # Forwarding only among the test bed's two bridges (the pods on node 0 and the nodes).
  iptables -C MYSQLHA-ISOLATE -i "$NODES_BRIDGE" -o "$BRIDGE" -j RETURN 2>/dev/null ||
    iptables -I MYSQLHA-ISOLATE 1 -i "$NODES_BRIDGE" -o "$BRIDGE" -j RETURN
  iptables -C MYSQLHA-ISOLATE -i "$BRIDGE" -o "$NODES_BRIDGE" -j RETURN 2>/dev/null ||
    iptables -I MYSQLHA-ISOLATE 1 -i "$BRIDGE" -o "$NODES_BRIDGE" -j RETURN
  iptables -C MYSQLHA-ISOLATE -i "$NODES_BRIDGE" ! -o "$NODES_BRIDGE" -j DROP 2>/dev/null ||
    iptables -A MYSQLHA-ISOLATE -i "$NODES_BRIDGE" ! -o "$NODES_BRIDGE" -j DROP
  iptables -C MYSQLHA-ISOLATE -o "$NODES_BRIDGE" ! -i "$NODES_BRIDGE" -j DROP 2>/dev/null ||
    iptables -A MYSQLHA-ISOLATE -o "$NODES_BRIDGE" ! -i "$NODES_BRIDGE" -j DROP
}

# node_netns: the namespace, its link to the host, its pod bridge and the host's route to it.
node_netns() {
  [ -e "/run/netns/$N_NETNS" ] || ip netns add "$N_NETNS"
  if ! ip link show "$N_VETH" >/dev/null 2>&1; then
    ip link add "$N_VETH" type veth peer name eth0 netns "$N_NETNS"
  fi
  ip link set "$N_VETH" master "$NODES_BRIDGE" up
  in_node ip link set lo up
  in_node ip addr replace "$N_IP/24" dev eth0
  in_node ip link set eth0 up
  in_node ip route replace default via "$NODES_BRIDGE_IP"
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  if ! in_node ip link show cni0 >/dev/null 2>&1; then
    in_node ip link add cni0 type bridge
  fi
  # A set MAC, like the host's bridge: ports joining must not change the pods' gateway's MAC.
  in_node ip link set cni0 address "$N_POD_MAC"
  in_node ip addr replace "$N_POD_GW/24" dev cni0
  in_node ip link set cni0 up
  ip route replace "$N_POD_CIDR" via "$N_IP"
}

# node_cgroups: /mysqlha-node-i and its daemons group in every controller.
node_cgroups() {
  local c
  for c in $CGROUP_CONTROLLERS; do
    [ -d "/sys/fs/cgroup/$c" ] || continue
    mkdir -p "/sys/fs/cgroup/$c/$N_CGROUP/daemons"
    if [ "$c" = cpuset ]; then
      for g in "$N_CGROUP" "$N_CGROUP/daemons"; do
        cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$g/cpuset.cpus"
        cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$g/cpuset.mems"
      done
    fi
  done
}

# node_pki: the node's kubelet client and serving certificates, signed by the test bed's CA.
# Random serials: the nodes are signed in parallel, and openssl's shared serial file
# (-CAcreateserial) breaks when two read and rewrite it at once (a CI `up` failed on it).
node_pki() {
  local P=$STATE/pki d=$N_DIR/pki
  mkdir -p "$d"
  [ -s "$d/kubelet-serving.crt" ] && return 0
  local ext; ext=$(mktemp)
  openssl req -newkey rsa:2048 -nodes -keyout "$d/kubelet.key" -out "$d/kubelet.csr" \
    -subj "/O=system:nodes/CN=system:node:$N_NAME" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$ext"
  openssl x509 -req -in "$d/kubelet.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -out "$d/kubelet.crt" -days 3650 -extfile "$ext" 2>"$d/openssl.err" || { cat "$d/openssl.err" >&2; return 1; }
  openssl req -newkey rsa:2048 -nodes -keyout "$d/kubelet-serving.key" -out "$d/kubelet-serving.csr" \
    -subj "/CN=$N_NAME" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,IP:%s\n' \
    "$N_NAME" "$N_IP" >"$ext"
  openssl x509 -req -in "$d/kubelet-serving.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -out "$d/kubelet-serving.crt" -days 3650 -extfile "$ext" 2>"$d/openssl.err" || { cat "$d/openssl.err" >&2; return 1; }
  rm -f "$d"/*.csr "$d/openssl.err" "$ext"
}

node_configs() {
  local d=$N_DIR
  mkdir -p "$d"/{containerd,kubelet,pod-logs,cni/net.d,cni/ipam,run}
  containerd_config "$N_ROOT/root" "$d/containerd/state" "$N_SOCK" "$d/cni/net.d" | put "$d/containerd.toml"
  put "$d/cni/net.d/10-mysqlha.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "mysqlha-$N_NAME",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$N_POD_CIDR", "gateway": "$N_POD_GW"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$d/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  local P=$STATE/pki
  put "$d/kubelet.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mysqlha-testbed
  cluster:
    server: https://$NODE_IP:6443
    certificate-authority: $P/ca.crt
users:
- name: kubelet
  user:
    client-certificate: $d/pki/kubelet.crt
    client-key: $d/pki/kubelet.key
contexts:
- name: mysqlha-testbed
  context: {cluster: mysqlha-testbed, user: kubelet}
current-context: mysqlha-testbed
KC
  kubelet_config "$N_IP" "$N_SOCK" "$d/pki" "cgroupRoot: /$N_CGROUP
podLogsDir: $d/pod-logs
nodeStatusUpdateFrequency: 4s" | put "$d/kubelet.yaml"
  kube_proxy_config 10.244.0.0/16 "$N_IP" | put "$d/kube-proxy.yaml"
}

# node_daemon NAME COMMAND...: like start_daemon, inside the node's namespace and cgroups.
node_daemon() {
  local name=$1; shift
  local pidfile="$N_DIR/run/$name.pid"
  if [ -s "$pidfile" ] && ours "$(cat "$pidfile")"; then return 0; fi
  # shellcheck disable=SC2016
  setsid sh -c 'for c in '"$CGROUP_CONTROLLERS"'; do
      f=/sys/fs/cgroup/$c/'"$N_CGROUP"'/daemons/cgroup.procs; [ -e "$f" ] && echo $$ >"$f"; done
    exec nsenter --net=/run/netns/'"$N_NETNS"' "$@"' sh "$@" \
    >>"$STATE/logs/$N_NAME-$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$pidfile"
}

# node_start I: brings node I up (idempotent).
node_start() {
  node_vars "$1"
  node_netns
  node_cgroups
  node_pki
  node_configs
  node_daemon containerd containerd --config "$N_DIR/containerd.toml"
  wait_for "containerd of $N_NAME" 30 nctr_ version
  import_images nctr_ "$N_ROOT"
  # --root-dir: there is no config field for it, and two kubelets sharing /var/lib/kubelet clean
  # up each other's pods' volumes as orphans (seen: ConfigMap and emptyDir contents gone).
  node_daemon kubelet "$K8S_BIN/kubelet" --config "$N_DIR/kubelet.yaml" --kubeconfig "$N_DIR/kubelet.kubeconfig" \
    --root-dir "$N_DIR/kubelet" \
    --hostname-override "$N_NAME" --node-ip "$N_IP" ${NODE_TAINTS:+--register-with-taints "$NODE_TAINTS"} --v=1
  node_daemon kube-proxy "$K8S_BIN/kube-proxy" --config "$N_DIR/kube-proxy.yaml" --hostname-override "$N_NAME" --v=1
}
