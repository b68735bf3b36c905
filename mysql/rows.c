/* Result tables: see rows.h. */
#include "mysql/rows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mysql_rows *mysql_rows_new(unsigned n_columns, const char *const *names)
{
    struct mysql_rows *rows = calloc(1, sizeof(*rows));
    if (rows == NULL) {
        return NULL;
    }
    rows->columns = calloc(n_columns ? n_columns : 1, sizeof(char *));
    if (rows->columns == NULL) {
        free(rows);
        return NULL;
    }
    rows->n_columns = n_columns;
    for (unsigned i = 0; i < n_columns; i++) {
        rows->columns[i] = strdup(names[i] ? names[i] : "");
        if (rows->columns[i] == NULL) {
            mysql_rows_free(rows);
            return NULL;
        }
    }
    return rows;
}

int mysql_rows_add(struct mysql_rows *rows, const char *const *values)
{
    size_t n = (size_t)rows->n_columns;
    char **cells = realloc(rows->cells, (rows->n_rows + 1) * n * sizeof(char *) + 1);
    if (cells == NULL) {
        return -ENOMEM;
    }
    rows->cells = cells;
    char **row = cells + rows->n_rows * n;
    for (size_t i = 0; i < n; i++) {
        row[i] = NULL;
        if (values[i] != NULL && (row[i] = strdup(values[i])) == NULL) {
            for (size_t j = 0; j < i; j++) {
                free(row[j]);
            }
            return -ENOMEM;
        }
    }
    rows->n_rows++;
    return 0;
}

void mysql_rows_free(struct mysql_rows *rows)
{
    if (rows == NULL) {
        return;
    }
    for (size_t i = 0; i < (size_t)rows->n_rows * rows->n_columns; i++) {
        free(rows->cells[i]);
    }
    free(rows->cells);
    if (rows->columns != NULL) {
        for (unsigned i = 0; i < rows->n_columns; i++) {
            free(rows->columns[i]);
        }
    }
    free(rows->columns);
    free(rows);
}

int mysql_rows_column(const struct mysql_rows *rows, const char *name)
{
    for (unsigned i = 0; i < rows->n_columns; i++) {
        if (strcasecmp(rows->columns[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *mysql_rows_get(const struct mysql_rows *rows, unsigned row, const char *name)
{
    int column = mysql_rows_column(rows, name);
    if (column < 0 || row >= rows->n_rows) {
        return NULL;
    }
    return rows->cells[(size_t)row * rows->n_columns + (unsigned)column];
}
