/*
 * The epoch table: the writer's daemon records its epoch in the database itself, just before it
 * unfences, so that every client write made after the unfence is made under that row (clients
 * read it inside their write transaction: SELECT epoch FROM mmcoord.epoch WHERE id=1). The row
 * replicates to every other server like any write, so after a failover each server shows the
 * new epoch and writer once it has applied it.
 *
 *     CREATE DATABASE IF NOT EXISTS mmcoord;
 *     CREATE TABLE IF NOT EXISTS mmcoord.epoch (id TINYINT UNSIGNED PRIMARY KEY,
 *         epoch BIGINT UNSIGNED NOT NULL, writer VARCHAR(31) NOT NULL,
 *         opened_at DATETIME(6) NOT NULL) ENGINE=InnoDB;
 *     REPLACE INTO mmcoord.epoch VALUES (1, <epoch>, '<node id>', NOW(6));
 *
 * The write uses the coordinator's account while read_only is still ON: on MariaDB its
 * READ_ONLY ADMIN privilege lets it write; on MySQL super_read_only stops every account, so it
 * is switched off for the write (read_only stays ON, so ordinary clients still cannot write)
 * and switched back on if the write fails. Privileges needed on mmcoord.*: CREATE (the database
 * and table), INSERT and DELETE (REPLACE needs both); see docs/mysql.md.
 */
#ifndef MMC_MYSQL_EPOCH_H
#define MMC_MYSQL_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#include "mysql/conn.h"

#define MYSQL_EPOCH_STATEMENTS 3   /* create database, create table, replace */
#define MYSQL_EPOCH_SQL_SIZE   512 /* room for the longest of them */
#define MYSQL_EPOCH_WRITER_MAX 31  /* VARCHAR(31) */

/* The statements, in order, for @epoch and writer @node_id (quoted for @d's session) into
 * @out. Returns 0, -EINVAL when @node_id is empty or longer than MYSQL_EPOCH_WRITER_MAX bytes,
 * or -ENOSPC (not with a valid id). Pure: the unit tests check the text. */
int mysql_epoch_statements(const struct mysql_dialect *d, uint64_t epoch, const char *node_id,
                           char out[MYSQL_EPOCH_STATEMENTS][MYSQL_EPOCH_SQL_SIZE]);

/* Write the row through @conn within @timeout_ms (the database and table are created when
 * absent). Returns 0, -EINVAL for a bad @node_id, or the errors of mysql_conn_query()
 * (-EACCES when the account lacks a privilege on mmcoord.*, -ETIMEDOUT, -ECONNREFUSED ...);
 * errmsg says which step failed, on which server, and what to do. */
int mysql_epoch_write(struct mysql_conn *conn, uint64_t epoch, const char *node_id,
                      unsigned timeout_ms, char *errmsg, size_t errlen);

/* Read the row back: *@epoch and @writer (capacity @writer_len). Returns 0, -ENOENT when the
 * table or the row is absent, or the errors of mysql_conn_query(). */
int mysql_epoch_read(struct mysql_conn *conn, unsigned timeout_ms, uint64_t *epoch, char *writer,
                     size_t writer_len, char *errmsg, size_t errlen);

#endif /* MMC_MYSQL_EPOCH_H */
