#!/bin/sh
# Init container "config" (the mysql user, like every container of a member): write my.cnf.
# The volumes belong to the mysql group already (the pod's fsGroup). A pod made by an earlier
# plugin ran this as root: then the data directory is given to the mysql user as before.
set -eu
if [ "$(id -u)" = 0 ]; then
  chown 999:999 /var/lib/mysql /run/mysqld /etc/mysqlha/run
  chmod 0750 /var/lib/mysql
fi
sh /etc/mysqlha/config/write-config.sh
if [ "$(id -u)" = 0 ]; then
  chown 999:999 /etc/mysqlha/run/my.cnf /etc/mysqlha/run/role
fi
