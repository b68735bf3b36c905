/*
 * A result table copied out of a server's reply: column names and cells as C strings, NULL for
 * SQL NULL. Parsing code (dialect.c) reads these instead of MYSQL_RES so that it stays pure and
 * can be unit-tested on tables built by hand, for both MariaDB and MySQL column spellings.
 */
#ifndef MMC_MYSQL_ROWS_H
#define MMC_MYSQL_ROWS_H

#include <stddef.h>

struct mysql_rows {
    unsigned n_columns;
    unsigned n_rows;
    char **columns; /* n_columns names */
    char **cells;   /* n_rows * n_columns, row-major; NULL cell = SQL NULL */
};

/* A new empty table with @n_columns columns named @names (copied). Returns NULL when out of
 * memory. The caller frees it with mysql_rows_free(). */
struct mysql_rows *mysql_rows_new(unsigned n_columns, const char *const *names);

/* Append one row of n_columns @values (copied; NULL entries stand for SQL NULL).
 * Returns 0 or -ENOMEM (the table is then unchanged). */
int mysql_rows_add(struct mysql_rows *rows, const char *const *values);

/* Free @rows and everything in it; NULL is accepted. */
void mysql_rows_free(struct mysql_rows *rows);

/* Index of the column called @name (ASCII case-insensitive: servers differ in case), or -1. */
int mysql_rows_column(const struct mysql_rows *rows, const char *name);

/* The cell of row @row in column @name; NULL when the row or column does not exist or the
 * value is SQL NULL. The string belongs to @rows. */
const char *mysql_rows_get(const struct mysql_rows *rows, unsigned row, const char *name);

#endif /* MMC_MYSQL_ROWS_H */
