#!/bin/sh
# Init container "config" (root): give the data directory to the mysql user, write my.cnf.
set -eu
chown 999:999 /var/lib/mysql /run/mysqld /etc/mysqlha/run
chmod 0750 /var/lib/mysql
sh /etc/mysqlha/config/write-config.sh
chown 999:999 /etc/mysqlha/run/my.cnf /etc/mysqlha/run/role
