#!/bin/sh
# Sourced by the bootstrap scripts before the passwords go into SQL: only what the plugin
# generates ([A-Za-z0-9], no newline) is used; anything else is refused.
for key in root-password replication-password; do
  if [ ! -s "/etc/mysqlha/secret/$key" ] || [ "$(LC_ALL=C tr -d 'A-Za-z0-9' <"/etc/mysqlha/secret/$key" | wc -c)" -ne 0 ]; then
    echo "Secret key $key is empty or holds characters other than letters and digits: refusing to use it (replace it or delete the Secret)" >&2
    exit 1
  fi
done
