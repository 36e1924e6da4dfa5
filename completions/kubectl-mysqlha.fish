# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_mysqlha_global_optspecs
    string join \n kubeconfig= context= n/namespace= color= h/help V/version
end

function __fish_kubectl_mysqlha_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_mysqlha_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_mysqlha_using_subcommand
    set -l cmd (__fish_kubectl_mysqlha_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "create" -d 'Create a cluster: one primary, the rest replicas cloned from it'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "status" -d 'Show roles, GTID positions, replication threads, lag, errors and a verdict'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "scale" -d 'Change the number of members; new replicas are cloned from a healthy replica'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "rebuild-replica" -d 'Re-clone a broken or diverged replica from a healthy donor and rejoin it'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "switchover" -d 'Planned move of the primary to a replica, losing no write'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "failover" -d 'Promote a replica when the primary is lost (fences the old primary first)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "upgrade" -d 'Move every member to a new server image, one at a time, the primary last by switchover'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "set" -d 'Change a running cluster: server settings, resources and storage size'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "delete" -d 'Delete a cluster (its data too, unless --keep-data)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "sql" -d 'Run the database client on a member, as the plugin\'s account (no password)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "report" -d 'Write a support archive (tar.gz): manifests, status, members\' state, logs'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "backup" -d 'Backups to S3-compatible object storage: enable, take one now, list, verify'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "restore" -d 'Create a new cluster from the backups of another, to a time or a GTID'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "agent" -d 'The automatic-failover agent: enable or disable it for a cluster (run is the agent itself)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "tls" -d 'The cluster\'s TLS: rotate its certificates without a restart, or enable it'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "alerts" -d 'Print alert rules for Prometheus on the agent\'s metrics'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "version" -d 'Print the plugin\'s version and git commit'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "__complete" -d 'Candidates for kubectl\'s plugin completion (used by kubectl_complete-mysqlha)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l replicas -d 'Number of members, primary included (1 means a lone primary)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l engine -d 'Database engine: mariadb (10.11, 11.8) or mysql (9.7); default mariadb, or the engine of the kept data when the cluster is brought back' -r -f -a "mariadb\t'MariaDB (10.11, 11.8): mariadb-backup clones, GTID domain-server-seq positions'
mysql\t'MySQL (9.7 LTS): the clone plugin, GTID uuid:interval sets'"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l image -d 'Server image (default: mariadb:10.11 or mysql:9.7 by --engine; $MYSQLHA_IMAGE or $MYSQLHA_MYSQL_IMAGE override the default)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l storage -d 'Size of each member\'s volume' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l storage-class -d 'StorageClass of the volumes (default: the cluster\'s default class)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l cpu -d 'CPU request of the server container' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l memory -d 'Memory request of the server container' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l timeout -d 'How long to wait for the cluster to become healthy' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l primary -d 'On kept data (after delete --keep-data): take this member as the primary when the members\' histories diverged; members holding transactions it lacks are re-cloned from it' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l durability -d 'semi-sync: a commit returns only once a replica has it (no acknowledged write is lost; writes wait while no replica is connected). async: never wait, may lose recent writes' -r -f -a "semi-sync\t''
async\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l transfer -d 'How clones travel: direct (pod to pod, one-time token) or api (through the plugin)' -r -f -a "direct\t'Pod to pod over the pod network, on a one-time port that admits only the holder of a one-time token (about the speed of the disk)'
api\t'Through the plugin over the API server\'s exec streams (works wherever exec works, slower)'"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l agent-image -d 'The agent\'s image (default: the plugin\'s release image; $MYSQLHA_AGENT_IMAGE overrides it)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l tls-ca -d 'Sign the members\' certificates with this CA: a Secret of type kubernetes.io/tls (tls.crt, tls.key; cert-manager\'s CA issuers keep theirs so). Default: a CA of the cluster\'s own, in Secret NAME-ca' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l dry-run -d 'Print every manifest as YAML and contact nothing'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l no-agent -d 'Do not deploy the automatic-failover agent (`kubectl mysqlha agent enable` adds it later)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l require-tls -d 'Servers refuse clients that do not use TLS (require_secure_transport). Without it, TLS is offered to every client and used by replication and clones, verified'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -l no-tls -d 'No certificates: replication and clones in plain text as the engine does by default (measurements, and clients that cannot verify)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand create" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -l watch -d 'Refresh every INTERVAL (2s when given without a value) until Ctrl-C: in place on a terminal, else one report after another with a blank line between; table output only' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand status" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l replicas -d 'Wanted number of members, primary included' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l transfer -d 'How clones travel: direct (pod to pod, one-time token) or api (through the plugin)' -r -f -a "direct\t'Pod to pod over the pod network, on a one-time port that admits only the holder of a one-time token (about the speed of the disk)'
api\t'Through the plugin over the API server\'s exec streams (works wherever exec works, slower)'"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand scale" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l from -d 'Donor pod (default: the healthy replica with the least lag, else the primary)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l transfer -d 'How clones travel: direct (pod to pod, one-time token) or api (through the plugin)' -r -f -a "direct\t'Pod to pod over the pod network, on a one-time port that admits only the holder of a one-time token (about the speed of the disk)'
api\t'Through the plugin over the API server\'s exec streams (works wherever exec works, slower)'"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -l lost-node -d 'The replica\'s node is lost for good: release its claim and pod (only once Kubernetes reports the node lost) and re-create the member on a live node, cloned afresh'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand rebuild-replica" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l to -d 'The replica to promote (default: the most up-to-date healthy replica)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -s o -l output -d 'Output format of --dry-run' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -l dry-run -d 'Show what the switchover would do (each member\'s positions, the target and why, what would be refused) and change nothing; exit 1 with the refusal when it would refuse'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand switchover" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l to -d 'The replica to promote (default: the one that received the most)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -s o -l output -d 'Output format of --dry-run' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l force -d 'Promote even when a replica cannot be reached (it may hold acknowledged writes)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -l dry-run -d 'Show what the failover would do (each member\'s received and applied positions, the candidate and why, what would be refused, what could be lost) and change nothing; exit 1 with the refusal when it would refuse'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand failover" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -l image -d 'The server image every member is to run (its tag names the version, e.g. mariadb:11.8)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand upgrade" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l memory -d 'Memory request of each member\'s server (e.g. 2Gi); members restart one at a time' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l cpu -d 'CPU request of each member\'s server (e.g. 500m, 2); members restart one at a time' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l set -d 'A server setting, KEY=VALUE (repeatable); applied at runtime where the server allows it, otherwise by a rolling restart' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l storage -d 'Size of every member\'s data volume (e.g. 20Gi); volumes only grow, and only where their StorageClass allows volume expansion' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand set" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -l timeout -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -l keep-data -d 'Keep the PersistentVolumeClaims (the data)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand delete" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -l pod -d 'Connect to this member' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -s e -l execute -d 'Run these statements, print the client\'s (tab-separated) output and exit with its status' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -l replica -d 'Connect to the healthy replica that lags least (running and replicating)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand sql" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -s o -l output -d 'Where to write the archive; `-` writes it to stdout (default: NAME-report-<UTC time>.tar.gz in the current directory)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -s f -l force -d 'Overwrite FILE when it exists'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand report" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -l timeout -d 'The longest the backup may take' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -a "enable" -d 'Record where the cluster\'s backups go, once the bucket answers to the key'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -a "disable" -d 'Forget where the cluster\'s backups go (the backups stay in the store)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -a "list" -d 'The cluster\'s base backups: time, GTID position, size, engine and version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -a "verify" -d 'Read a backup\'s data whole and compare its size and SHA-256 with its manifest'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and not __fish_seen_subcommand_from enable disable list verify help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l to -d 's3://BUCKET/PREFIX' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l endpoint -d 'The S3-compatible server\'s URL (default: AWS)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l credentials -d 'The Secret (in the cluster\'s namespace) holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l every -d 'Take a base backup this often, in the cluster (by the agent), e.g. 24h (at least 1m)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l keep -d 'Keep base backups this long (the newest always; the archive as far back as the oldest kept backup needs), deleting older ones, e.g. 7d; default: keep everything' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from disable" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from disable" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from disable" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from disable" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format' -r -f -a "table\t''
json\t''
yaml\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -l to -d 's3://BUCKET/PREFIX' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -l endpoint -d 'The S3-compatible server\'s URL (default: AWS)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -l credentials -d 'The Secret (in the cluster\'s namespace) holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -l to -d 's3://BUCKET/PREFIX' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -l endpoint -d 'The S3-compatible server\'s URL (default: AWS)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -l credentials -d 'The Secret (in the cluster\'s namespace) holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Record where the cluster\'s backups go, once the bucket answers to the key'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Forget where the cluster\'s backups go (the backups stay in the store)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'The cluster\'s base backups: time, GTID position, size, engine and version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Read a backup\'s data whole and compare its size and SHA-256 with its manifest'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l replicas -d 'Number of members, primary included (1 means a lone primary)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l engine -d 'Database engine: mariadb (10.11, 11.8) or mysql (9.7); default mariadb, or the engine of the kept data when the cluster is brought back' -r -f -a "mariadb\t'MariaDB (10.11, 11.8): mariadb-backup clones, GTID domain-server-seq positions'
mysql\t'MySQL (9.7 LTS): the clone plugin, GTID uuid:interval sets'"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l image -d 'Server image (default: mariadb:10.11 or mysql:9.7 by --engine; $MYSQLHA_IMAGE or $MYSQLHA_MYSQL_IMAGE override the default)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l storage -d 'Size of each member\'s volume' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l storage-class -d 'StorageClass of the volumes (default: the cluster\'s default class)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l cpu -d 'CPU request of the server container' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l memory -d 'Memory request of the server container' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l timeout -d 'How long to wait for the cluster to become healthy' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l primary -d 'On kept data (after delete --keep-data): take this member as the primary when the members\' histories diverged; members holding transactions it lacks are re-cloned from it' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l durability -d 'semi-sync: a commit returns only once a replica has it (no acknowledged write is lost; writes wait while no replica is connected). async: never wait, may lose recent writes' -r -f -a "semi-sync\t''
async\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l transfer -d 'How clones travel: direct (pod to pod, one-time token) or api (through the plugin)' -r -f -a "direct\t'Pod to pod over the pod network, on a one-time port that admits only the holder of a one-time token (about the speed of the disk)'
api\t'Through the plugin over the API server\'s exec streams (works wherever exec works, slower)'"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l agent-image -d 'The agent\'s image (default: the plugin\'s release image; $MYSQLHA_AGENT_IMAGE overrides it)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l tls-ca -d 'Sign the members\' certificates with this CA: a Secret of type kubernetes.io/tls (tls.crt, tls.key; cert-manager\'s CA issuers keep theirs so). Default: a CA of the cluster\'s own, in Secret NAME-ca' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l from -d 'The cluster whose backup is restored' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l backup -d 'The backup\'s ID (default: the newest complete one before the target). Named without --to-time/--to-gtid, that backup is restored exactly, with no binary log replayed' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l to-time -d 'Restore to this time (RFC 3339): every transaction stamped before it, none at or after it (stamps are whole seconds; a fraction rounds up); from the archived binary logs' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l to-gtid -d 'Restore to exactly this GTID position (MariaDB, e.g. 0-1-1234) or set (MySQL, UUID:1-1234): its transactions, none after' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l to -d 's3://BUCKET/PREFIX' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l endpoint -d 'The S3-compatible server\'s URL (default: AWS)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l credentials -d 'The Secret (in the cluster\'s namespace) holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l dry-run -d 'Print every manifest as YAML and contact nothing'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l no-agent -d 'Do not deploy the automatic-failover agent (`kubectl mysqlha agent enable` adds it later)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l require-tls -d 'Servers refuse clients that do not use TLS (require_secure_transport). Without it, TLS is offered to every client and used by replication and clones, verified'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -l no-tls -d 'No certificates: replication and clones in plain text as the engine does by default (measurements, and clients that cannot verify)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand restore" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -f -a "enable" -d 'Deploy (or update) the agent of an existing cluster'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -f -a "disable" -d 'Remove the agent of a cluster (automatic failover stops)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -f -a "run" -d 'Run the agent (in the agent\'s pods; in-cluster credentials)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and not __fish_seen_subcommand_from enable disable run help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l agent-image -d 'The agent\'s image (default: the plugin\'s release image; $MYSQLHA_AGENT_IMAGE overrides it)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l grace -d 'How long the primary may go unanswered (since its last answer) before it counts as lost, if its replicas agree' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l restart-grace -d 'How much longer a primary whose port refused or reset a connection during its silence is waited for (its pod answers, its server restarts in place)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l cooldown -d 'After an automatic failover, at most one more for this long (when the new primary is lost too); after that second one, none until its own cooldown ends' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -l auto-rebuild -d 'Re-clone, from a replica, a member that cannot serve by itself: an old primary holding transactions the primary lacks, a replica whose replication stopped on an error'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l grace -d 'How long the primary may go unanswered (since its last answer) before it counts as lost, if its replicas agree' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l restart-grace -d 'How much longer a primary whose port refused or reset a connection during its silence is waited for (its pod answers, its server restarts in place)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l cooldown -d 'After an automatic failover, at most one more for this long (when the new primary is lost too); after that second one, none until its own cooldown ends' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -l auto-rebuild -d 'Re-clone, from a replica, a member that cannot serve by itself: an old primary holding transactions the primary lacks, a replica whose replication stopped on an error'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Deploy (or update) the agent of an existing cluster'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Remove the agent of a cluster (automatic failover stops)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run the agent (in the agent\'s pods; in-cluster credentials)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand agent; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -f -a "rotate" -d 'New member certificates (or with --ca a new CA), loaded without a restart'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -f -a "enable" -d 'TLS for a cluster made without it (--no-tls, or by a version before TLS), rolling'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and not __fish_seen_subcommand_from rotate enable help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l timeout -d 'The longest the rotation may take' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l ca -d 'Only a new CA of the cluster\'s own (Secret NAME-ca), trusted beside the old one until --drop-old-ca; the members\' certificates change at the next `tls rotate`'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -l drop-old-ca -d 'Trust only the current CA (after a --ca rotation, once clients trust the new one)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -l wait -d 'When another operation holds the cluster\'s lock, wait for it (at most this long, 10m when given without a value) instead of failing at once' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -l timeout -d 'The longest the whole change may take' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -l require-tls -d 'Servers refuse clients without TLS afterwards (require_secure_transport)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'New member certificates (or with --ca a new CA), loaded without a restart'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from help" -f -a "enable" -d 'TLS for a cluster made without it (--no-tls, or by a version before TLS), rolling'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand tls; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -l format -d 'rules: a Prometheus rules file; prometheus-rule: a PrometheusRule object named mysqlha-alerts (in --namespace when given)' -r -f -a "rules\t''
prometheus-rule\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand alerts" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand version" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand version" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand version" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand version" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand version" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand completion" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand completion" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand completion" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand __complete" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand __complete" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand __complete" -s n -l namespace -d 'Namespace of the cluster (default: the context\'s namespace)' -r
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand __complete" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand __complete" -s h -l help -d 'Print help'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand __complete" -s V -l version -d 'Print version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "create" -d 'Create a cluster: one primary, the rest replicas cloned from it'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "status" -d 'Show roles, GTID positions, replication threads, lag, errors and a verdict'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "scale" -d 'Change the number of members; new replicas are cloned from a healthy replica'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "rebuild-replica" -d 'Re-clone a broken or diverged replica from a healthy donor and rejoin it'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "switchover" -d 'Planned move of the primary to a replica, losing no write'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "failover" -d 'Promote a replica when the primary is lost (fences the old primary first)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "upgrade" -d 'Move every member to a new server image, one at a time, the primary last by switchover'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "set" -d 'Change a running cluster: server settings, resources and storage size'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "delete" -d 'Delete a cluster (its data too, unless --keep-data)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "sql" -d 'Run the database client on a member, as the plugin\'s account (no password)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "report" -d 'Write a support archive (tar.gz): manifests, status, members\' state, logs'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "backup" -d 'Backups to S3-compatible object storage: enable, take one now, list, verify'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "restore" -d 'Create a new cluster from the backups of another, to a time or a GTID'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "agent" -d 'The automatic-failover agent: enable or disable it for a cluster (run is the agent itself)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "tls" -d 'The cluster\'s TLS: rotate its certificates without a restart, or enable it'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "alerts" -d 'Print alert rules for Prometheus on the agent\'s metrics'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "version" -d 'Print the plugin\'s version and git commit'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "__complete" -d 'Candidates for kubectl\'s plugin completion (used by kubectl_complete-mysqlha)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and not __fish_seen_subcommand_from create status scale rebuild-replica switchover failover upgrade set delete sql report backup restore agent tls alerts version completion __complete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "enable" -d 'Record where the cluster\'s backups go, once the bucket answers to the key'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "disable" -d 'Forget where the cluster\'s backups go (the backups stay in the store)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'The cluster\'s base backups: time, GTID position, size, engine and version'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Read a backup\'s data whole and compare its size and SHA-256 with its manifest'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "enable" -d 'Deploy (or update) the agent of an existing cluster'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "disable" -d 'Remove the agent of a cluster (automatic failover stops)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from agent" -f -a "run" -d 'Run the agent (in the agent\'s pods; in-cluster credentials)'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from tls" -f -a "rotate" -d 'New member certificates (or with --ca a new CA), loaded without a restart'
complete -c kubectl-mysqlha -n "__fish_kubectl_mysqlha_using_subcommand help; and __fish_seen_subcommand_from tls" -f -a "enable" -d 'TLS for a cluster made without it (--no-tls, or by a version before TLS), rolling'
