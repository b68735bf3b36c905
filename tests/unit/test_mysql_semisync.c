/* mysql/semisync.c: reading whether a source waits for semi-sync acknowledgements and how many
 * replicas can give them, from the rows MariaDB and both MySQL spellings answer with. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/semisync.h"

static const char *const columns[] = {"Variable_name", "Value"};

static struct mysql_rows *table(const char *const *pairs, unsigned n)
{
    struct mysql_rows *rows = mysql_rows_new(2, columns);
    ck_assert_ptr_nonnull(rows);
    for (unsigned i = 0; i < n; i++) {
        const char *row[2] = {pairs[2 * i], pairs[2 * i + 1]};
        ck_assert_int_eq(mysql_rows_add(rows, row), 0);
    }
    return rows;
}

START_TEST(mariadb_source_on_with_one_replica)
{
    const char *vars[] = {"rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_slave_enabled",
                          "ON"};
    /* What SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%' answers, in part. */
    const char *status[] = {
        "Rpl_semi_sync_master_clients",       "1", "Rpl_semi_sync_master_status", "ON",
        "Rpl_semi_sync_master_wait_sessions", "2", "Rpl_semi_sync_slave_status",  "OFF"};
    struct mysql_rows *v = table(vars, 2), *s = table(status, 4);
    struct mysql_semisync_state st;
    char err[256] = "";
    ck_assert_int_eq(mysql_semisync_parse(v, s, &st, err, sizeof err), 0);
    ck_assert(st.enabled);
    ck_assert_str_eq(st.variable, "rpl_semi_sync_master_enabled");
    ck_assert(st.clients_known);
    ck_assert_uint_eq(st.clients, 1);
    ck_assert_uint_eq(st.wait_sessions, 2);
    mysql_rows_free(v);
    mysql_rows_free(s);
}
END_TEST

START_TEST(the_replica_side_alone_is_not_a_waiting_source)
{
    /* A replica: its slave side on, its master side off. */
    const char *vars[] = {"rpl_semi_sync_master_enabled", "OFF", "rpl_semi_sync_slave_enabled",
                          "ON"};
    struct mysql_rows *v = table(vars, 2);
    struct mysql_semisync_state st;
    char err[256] = "";
    ck_assert_int_eq(mysql_semisync_parse(v, NULL, &st, err, sizeof err), 0);
    ck_assert(!st.enabled);
    ck_assert_str_eq(st.variable, "rpl_semi_sync_master_enabled");
    ck_assert(!st.clients_known);
    mysql_rows_free(v);
}
END_TEST

START_TEST(mysql_8_source_spelling_with_no_replica)
{
    const char *vars[] = {"rpl_semi_sync_source_enabled", "1", "rpl_semi_sync_replica_enabled",
                          "0"};
    const char *status[] = {"Rpl_semi_sync_source_clients", "0",
                            "Rpl_semi_sync_source_wait_sessions", "0"};
    struct mysql_rows *v = table(vars, 2), *s = table(status, 2);
    struct mysql_semisync_state st;
    char err[256] = "";
    ck_assert_int_eq(mysql_semisync_parse(v, s, &st, err, sizeof err), 0);
    ck_assert(st.enabled);
    ck_assert_str_eq(st.variable, "rpl_semi_sync_source_enabled");
    ck_assert(st.clients_known);
    ck_assert_uint_eq(st.clients, 0);
    ck_assert_uint_eq(st.wait_sessions, 0);
    mysql_rows_free(v);
    mysql_rows_free(s);
}
END_TEST

START_TEST(no_plugin_means_off)
{
    struct mysql_rows *v = table(NULL, 0), *s = table(NULL, 0);
    struct mysql_semisync_state st;
    char err[256] = "";
    ck_assert_int_eq(mysql_semisync_parse(v, s, &st, err, sizeof err), 0);
    ck_assert(!st.enabled);
    ck_assert_ptr_null(st.variable);
    ck_assert(!st.clients_known);
    mysql_rows_free(v);
    mysql_rows_free(s);
}
END_TEST

START_TEST(values_that_do_not_parse_are_errors_naming_the_variable)
{
    const char *vars[] = {"rpl_semi_sync_master_enabled", "maybe"};
    struct mysql_rows *v = table(vars, 1);
    struct mysql_semisync_state st;
    char err[256] = "";
    ck_assert_int_eq(mysql_semisync_parse(v, NULL, &st, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "rpl_semi_sync_master_enabled"));
    ck_assert_ptr_nonnull(strstr(err, "maybe"));
    mysql_rows_free(v);

    const char *on[] = {"rpl_semi_sync_master_enabled", "ON"};
    v = table(on, 1);
    const char *bad[][2] = {{"Rpl_semi_sync_master_clients", "-1"},
                            {"Rpl_semi_sync_master_clients", "2x"},
                            {"Rpl_semi_sync_master_clients", ""},
                            {"Rpl_semi_sync_master_clients", NULL},
                            {"Rpl_semi_sync_master_wait_sessions", "many"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mysql_rows *s = table(bad[i], 1);
        err[0] = '\0';
        ck_assert_int_eq(mysql_semisync_parse(v, s, &st, err, sizeof err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, bad[i][0]));
        mysql_rows_free(s);
    }
    mysql_rows_free(v);
}
END_TEST

START_TEST(only_known_switch_names_are_taken)
{
    /* A name the server made up never reaches a SET statement. */
    const char *vars[] = {"rpl_semi_sync_master_enabled; DROP", "ON"};
    struct mysql_rows *v = table(vars, 1);
    struct mysql_semisync_state st;
    char err[256] = "";
    ck_assert_int_eq(mysql_semisync_parse(v, NULL, &st, err, sizeof err), 0);
    ck_assert_ptr_null(st.variable);
    ck_assert(!st.enabled);
    mysql_rows_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mysql_semisync");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, mariadb_source_on_with_one_replica);
    tcase_add_test(tc, the_replica_side_alone_is_not_a_waiting_source);
    tcase_add_test(tc, mysql_8_source_spelling_with_no_replica);
    tcase_add_test(tc, no_plugin_means_off);
    tcase_add_test(tc, values_that_do_not_parse_are_errors_naming_the_variable);
    tcase_add_test(tc, only_known_switch_names_are_taken);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
