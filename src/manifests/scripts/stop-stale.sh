#!/bin/sh
# Sourced by backup.sh, start-clone.sh and the direct clone's receiver, with OP set to this
# operation's workspace (/tmp/mysqlha-op-<id>, whose file "target" names the member being
# filled). stop_stale ends what an interrupted earlier operation of this plugin for the SAME
# target left running in this container (the plugin was killed, its stream is gone, but a
# receiver still holds the port, or a backup still holds the server's backup locks), then
# removes that operation's workspace. Only operations that started before this one count. A
# process is ended only if such a workspace recorded its pid (*.pid) AND its command line still
# names that workspace: nothing the user started, nothing of another target's clone, and no
# unrelated process that reused a recorded pid.
stop_stale() {
  _target=$(cat "$OP/target")
  for _dir in /tmp/mysqlha-op-*; do
    [ -d "$_dir" ] && [ ! -L "$_dir" ] || continue
    [ "$_dir" = "$OP" ] && continue
    [ "$(cat "$_dir/target" 2>/dev/null)" = "$_target" ] || continue
    # Only operations that started before this one (the last one started wins).
    [ "$_dir/target" -ot "$OP/target" ] || continue
    for _pidfile in "$_dir"/*.pid; do
      [ -f "$_pidfile" ] || continue
      _pid=$(cat "$_pidfile" 2>/dev/null)
      case $_pid in '' | *[!0-9]*) continue ;; esac
      if tr '\000' ' ' <"/proc/$_pid/cmdline" 2>/dev/null | grep -qF -- "$_dir/"; then
        kill -9 "$_pid" 2>/dev/null
      fi
    done
    rm -rf "$_dir"
  done
  return 0
}
