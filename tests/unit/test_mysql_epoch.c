/* The epoch table's statements (mysql/epoch.h): the exact text each server gets. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/epoch.h"

static char sql[MYSQL_EPOCH_STATEMENTS][MYSQL_EPOCH_SQL_SIZE];

static struct mysql_dialect dialect(const char *version)
{
    struct mysql_dialect d;
    char err[256];
    ck_assert_int_eq(mysql_dialect_from_version(version, &d, err, sizeof err), 0);
    return d;
}

START_TEST(the_three_statements_of_the_shared_schema)
{
    struct mysql_dialect d = dialect("10.11.6-MariaDB-0+deb12u1");
    ck_assert_int_eq(mysql_epoch_statements(&d, 7, "m2", sql), 0);
    ck_assert_str_eq(sql[0], "CREATE DATABASE IF NOT EXISTS mmcoord");
    ck_assert_str_eq(sql[1], "CREATE TABLE IF NOT EXISTS mmcoord.epoch (id TINYINT UNSIGNED "
                             "PRIMARY KEY, epoch BIGINT UNSIGNED NOT NULL, writer VARCHAR(31) NOT "
                             "NULL, opened_at DATETIME(6) NOT NULL) ENGINE=InnoDB");
    ck_assert_str_eq(sql[2], "REPLACE INTO mmcoord.epoch VALUES (1, 7, 'm2', NOW(6))");
    d = dialect("8.4.2");
    ck_assert_int_eq(mysql_epoch_statements(&d, UINT64_MAX, "db-east-1", sql), 0);
    ck_assert_str_eq(sql[2], "REPLACE INTO mmcoord.epoch VALUES (1, 18446744073709551615, "
                             "'db-east-1', NOW(6))");
}
END_TEST

START_TEST(the_writer_id_is_quoted_for_the_session)
{
    struct mysql_dialect d = dialect("10.11.6-MariaDB");
    ck_assert_int_eq(mysql_epoch_statements(&d, 3, "o'\\x", sql), 0);
    ck_assert_str_eq(sql[2], "REPLACE INTO mmcoord.epoch VALUES (1, 3, 'o\\'\\\\x', NOW(6))");
    d.no_backslash_escapes = true;
    ck_assert_int_eq(mysql_epoch_statements(&d, 3, "o'\\x", sql), 0);
    ck_assert_str_eq(sql[2], "REPLACE INTO mmcoord.epoch VALUES (1, 3, 'o''\\x', NOW(6))");
}
END_TEST

START_TEST(a_writer_id_that_does_not_fit_the_column_is_refused)
{
    struct mysql_dialect d = dialect("10.11.6-MariaDB");
    ck_assert_int_eq(mysql_epoch_statements(&d, 1, "", sql), -EINVAL);
    char id[40];
    memset(id, 'a', sizeof id);
    id[31] = '\0';
    ck_assert_int_eq(mysql_epoch_statements(&d, 1, id, sql), 0);
    id[31] = 'a';
    id[32] = '\0';
    ck_assert_int_eq(mysql_epoch_statements(&d, 1, id, sql), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mysql_epoch");
    TCase *tc = tcase_create("statements");
    tcase_add_test(tc, the_three_statements_of_the_shared_schema);
    tcase_add_test(tc, the_writer_id_is_quoted_for_the_session);
    tcase_add_test(tc, a_writer_id_that_does_not_fit_the_column_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
