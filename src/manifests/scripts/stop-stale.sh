#!/bin/sh
# Sourced by backup.sh and start-clone.sh: ends processes named $1 left behind by an interrupted
# clone (the plugin was killed, its stream is gone, but the process lives on and, for a backup,
# holds the server's backup locks).
stop_stale() {
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  return 0
}
